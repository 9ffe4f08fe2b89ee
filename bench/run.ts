import { cpus } from 'node:os';
import { AggregatorProcess } from './aggregator-process';
import { runMain, dirBytes, envInt, makeTempDir, nowMs, removeTempDir } from './bench-support';
import { BATCH_LINES, Dataset, NEEDLE, POD_COUNT, benchPod, makeDataset } from './dataset';
import { CLIENTS, cpuSince, httpIngest } from './http-ingest';
import { LokiOutcome, lokiBench } from './loki-bench';
import { PgResults, pgBench } from './pg-bench';
import { reportPg } from './pg-report';
import { pruneBench } from './prune-bench';
import { QueryOutcome, WARM_UP_MS, queryBench, queryCases } from './query-bench';
import { rawIngest } from './raw-ingest';
import { WARM_UP_SHARE } from './steady-rate';
import { AddFigure, formatInt, formatPercent, mb, report, say, seconds } from './report';
import { NodeAgentOutcome, nodeAgentRun, reportNodeAgent } from './node-agent-bench';
import { ShipperOutcome, shipperRun } from './shipper-bench';
import { ClosedHours, CompactionOutcome, compactedHours, compactionRun, waitForCompaction } from './compaction-bench';
import { mixCompaction, reportMix } from './realistic-mix';
import { tailFanOut } from './tail-bench';
import { WebOutcome, reportWeb, webBench } from './web-bench';

const LINES = envInt('BENCH_LINES', 1_000_000, 1);
const RUNS = envInt('BENCH_RUNS', 3, 1);
const QUERY_REPS = envInt('BENCH_QUERY_REPS', 30, 1);
const QUERY_WARMUPS = 3;
const WEB_RUNS = envInt('BENCH_WEB_RUNS', 7, 1);
const PRUNE_ROWS = Math.min(LINES, 1_000_000);
const SHIPPER_LINES = envInt('SHIPPER_LINES', Math.min(LINES, 200_000), 1);
const TAIL_LINES = envInt('TAIL_LINES', Math.min(LINES, 200_000), 1);
const TAILS = envInt('TAILS', 50, 1);
/** Lines of the realistic mix whose compaction is measured beside the bench's own lines. */
const MIX_LINES = envInt('MIX_LINES', 200_000, 1);
/** What each PostgreSQL query case may take: a page that reads the whole day is timed fewer times (at least 5). */
const PG_QUERY_BUDGET_MS = envInt('BENCH_PG_QUERY_SECONDS', 20, 1) * 1000;
/**
 * How long after ingest the bench waits for the first word index on PostgreSQL before it measures word search as
 * it is, without one: the replica's builder looks every 30 s and a build under ingest's load takes tens of seconds.
 */
const PG_WORD_INDEX_GRACE_MS = envInt('BENCH_PG_WORD_INDEX_GRACE_SECONDS', 90, 0) * 1000;
/** A directory: each shipper child then runs with --cpu-prof and leaves its .cpuprofile there (slower figures). */
const SHIPPER_CPU_PROF = process.env.SHIPPER_CPU_PROF?.trim() || undefined;

function describeDataset(dataset: Dataset, madeInMs: number): void {
  const share = (count: number) => formatPercent(count / LINES);
  const { info, warn, error } = dataset.levelCounts;
  say(
    `data: ${formatInt(LINES)} lines over ${((dataset.lastTs - dataset.firstTs) / 3_600_000).toFixed(2)} h up to now, ` +
      `${POD_COUNT} pods, mean message ${dataset.meanMessageBytes.toFixed(1)} B, ` +
      `info ${share(info)} / warn ${share(warn)} / error ${share(error)}, ${dataset.needles} × "${NEEDLE}"; ` +
      `${dataset.bodies.length} JSON bodies of ≤ ${BATCH_LINES} lines, ${mb(dataset.bodyBytes)}, made in ${seconds(madeInMs)}`,
  );
}

/** A partition is compacted once lines this far past its end are written (partition-writer.ts). */
const COMPACTION_GRACE_MS = 2 * 60_000;

/**
 * Raw ingest's rate; on the last run, the raw partitions then compacted in this process (compactionRun), and its
 * data dir kept (`keptDir`) for the raw queries: their baseline is the rows as written, uncompressed.
 */
function rawRun(dataset: Dataset, tag: string, last: boolean): { rate: number; compaction: CompactionOutcome | null; keptDir: string | null } {
  const dataDir = makeTempDir('raw');
  const cpu = process.cpuUsage();
  const raw = rawIngest(dataset.lines, dataDir);
  const rate = raw.steady.linesPerSec;
  say(
    `${tag} raw : ${formatInt(LINES)} lines in ${seconds(raw.ms)} = ${formatInt(LINES / (raw.ms / 1000))} lines/s; ` +
      `after the first ${formatPercent(WARM_UP_SHARE)} of batches ${formatInt(raw.steady.lines)} lines in ${seconds(raw.steady.ms)} = ${formatInt(rate)} lines/s ` +
      `(${raw.partitions} hourly files, ${(dirBytes(dataDir) / LINES).toFixed(1)} B/line on disk; cpu ${cpuSince(cpu)})`,
  );
  const compaction = last ? compactionRun(dataDir) : null;
  if (compaction) {
    say(
      `${tag} compaction of the raw run's closed hours in-process: ${formatInt(compaction.lines)} lines in ${seconds(compaction.ms)}; ` +
        `${mb(compaction.bytesBefore)} → ${mb(compaction.bytesAfter)} (${(compaction.bytesBefore / compaction.lines).toFixed(1)} → ${(compaction.bytesAfter / compaction.lines).toFixed(1)} B/line)`,
    );
  }
  if (!last) removeTempDir(dataDir);
  return { rate, compaction, keptDir: last ? dataDir : null };
}

/** Raw and HTTP ingest taking turns, each on a fresh data dir; queries and bytes on the last HTTP run's data. */
async function ingestRuns(dataset: Dataset) {
  const rawRates: number[] = [];
  const httpRates: number[] = [];
  const noIndexRates: number[] = [];
  let index = { ms: 0, behindAtStart: 0 };
  let queries: QueryOutcome[] = [];
  let floorMs: number[] = [];
  let loki: LokiOutcome | null = null;
  let web: WebOutcome | null = null;
  let storedBytes = 0;
  let compaction: CompactionOutcome | null = null;
  let closed: ClosedHours = { partitions: 0, lines: 0, bytes: 0 };
  const cases = queryCases(benchPod(dataset));

  for (let run = 1; run <= RUNS; run++) {
    const tag = `run ${run}/${RUNS}`;
    const raw = rawRun(dataset, tag, run === RUNS);
    const rawRate = raw.rate;
    compaction = raw.compaction ?? compaction;
    rawRates.push(rawRate);

    const dataDir = makeTempDir('http');
    const aggregator = await AggregatorProcess.start(dataDir);
    try {
      httpRates.push(await httpIngest([aggregator], dataset, tag, rawRate, 'steady'));
      if (run === RUNS) {
        index = await waitForCompaction(dataDir, dataset.lastTs, COMPACTION_GRACE_MS);
        closed = compactedHours(dataDir);
        say(
          `${tag} compaction (which builds the closed hours' word index): ${formatInt(index.behindAtStart)} lines still to compact when ingest ` +
            `ended, done ${seconds(index.ms)} later; ${closed.partitions} partitions, ${formatInt(closed.lines)} lines in ${mb(closed.bytes)}`,
        );
        const started = nowMs();
        ({ outcomes: queries, floorMs } = await queryBench(aggregator.port, raw.keptDir!, cases, QUERY_REPS, QUERY_WARMUPS));
        removeTempDir(raw.keptDir!);
        say(
          `${tag} queries: ${cases.length} kinds × (${QUERY_WARMUPS} warm-up or more, for ${seconds(WARM_UP_MS)} at least, + ${QUERY_REPS} timed) × http and raw ` +
            `in ${seconds(nowMs() - started)}`,
        );
        const lokiStarted = nowMs();
        loki = await lokiBench(aggregator.port, benchPod(dataset), QUERY_REPS);
        say(`${tag} Loki's query API: 4 requests × (${seconds(WARM_UP_MS)} warm-up + ${QUERY_REPS} timed) in ${seconds(nowMs() - lokiStarted)}`);
        const webStarted = nowMs();
        web = await webBench(aggregator.port, WEB_RUNS);
        const webRun = web.skipped === null ? `1 warm-up + ${WEB_RUNS} cold loads in chromium, each with its API request,` : `skipped (${web.skipped})`;
        say(`${tag} web view: ${webRun} in ${seconds(nowMs() - webStarted)}`);
      }
      await aggregator.stop();
    } catch (error) {
      aggregator.kill();
      throw error;
    }
    storedBytes = dirBytes(dataDir);
    say(`${tag} http data dir after SIGTERM (exit 0): ${mb(storedBytes)} = ${(storedBytes / LINES).toFixed(1)} B/line`);
    removeTempDir(dataDir);

    const noIndexDir = makeTempDir('http-no-index');
    const noIndex = await AggregatorProcess.start(noIndexDir, { DAYLOG_FULL_TEXT: 'off' });
    try {
      noIndexRates.push(await httpIngest([noIndex], dataset, `${tag} DAYLOG_FULL_TEXT=off`, rawRate, 'steady'));
      await noIndex.stop();
    } catch (error) {
      noIndex.kill();
      throw error;
    }
    removeTempDir(noIndexDir);
  }
  return { rawRates, httpRates, noIndexRates, index, queries, floorMs, storedBytes, compaction: compaction!, closed, loki: loki!, web: web! };
}

/** The shipper sidecar, each run against a fresh aggregator child; see shipper-bench.ts. */
async function shipperRuns(): Promise<ShipperOutcome[]> {
  const outcomes: ShipperOutcome[] = [];
  if (SHIPPER_CPU_PROF) say(`shipper: --cpu-prof into ${SHIPPER_CPU_PROF} (profiling slows it: these figures are not comparable)`);
  for (let run = 1; run <= RUNS; run++) {
    const tag = `run ${run}/${RUNS}`;
    const o = await shipperRun(SHIPPER_LINES, `shipper-bench-${run}`, SHIPPER_CPU_PROF);
    const cpu = (value: number | null) => (value === null ? 'n/a' : `${value.toFixed(1)} s`);
    say(
      `${tag} shipper: ${formatInt(o.lines)} lines (${mb(o.fileBytes)}, ${(o.fileBytes / o.lines).toFixed(1)} B/line) ` +
        `in ${seconds(o.ms)} = ${formatInt(o.linesPerSec)} lines/s from spawn (/metrics first answered after ` +
        `${o.firstMetricsMs.toFixed(0)} ms); peak RSS ${mb(o.peakRssBytes)}; cpu: shipper ${cpu(o.shipperCpuSeconds)}, ` +
        `aggregator ${cpu(o.aggregatorCpuSeconds)}; SIGTERM → exit 0; stored = written, each once ` +
        `(${o.queryPages} query pages)`,
    );
    outcomes.push(o);
  }
  return outcomes;
}

/** The shipper as the node agent over a fake node's containers, each run against a fresh aggregator child; see node-agent-bench.ts. */
async function nodeAgentRuns(): Promise<NodeAgentOutcome[]> {
  const outcomes: NodeAgentOutcome[] = [];
  for (let run = 1; run <= RUNS; run++) {
    const o = await nodeAgentRun(SHIPPER_LINES);
    say(
      `run ${run}/${RUNS} node agent: ${formatInt(o.lines)} lines (${mb(o.fileBytes)}) in ${o.containers} containers in ${seconds(o.ms)} = ` +
        `${formatInt(o.linesPerSec)} lines/s from spawn; peak RSS ${mb(o.peakRssBytes)}; stored = written, each once`,
    );
    outcomes.push(o);
  }
  return outcomes;
}

/** BENCH_POSTGRES: `on` (the default) measures the PostgreSQL backend too; `off` leaves it out. */
function withPostgres(): boolean {
  const value = process.env.BENCH_POSTGRES?.trim() || 'on';
  if (value !== 'on' && value !== 'off') throw new Error(`BENCH_POSTGRES=${JSON.stringify(value)} is not valid: expected on or off`);
  return value === 'on';
}

async function main(): Promise<void> {
  const started = nowMs();
  say(
    `daylog bench: ${formatInt(LINES)} lines, ${RUNS} runs, node ${process.version}, ${cpus().length} cpus; ` +
      `aggregator on its defaults (DAYLOG_SYNCHRONOUS=full), raw baseline with synchronous=FULL`,
  );
  const madeAt = nowMs();
  const dataset = makeDataset(LINES, Date.now());
  describeDataset(dataset, nowMs() - madeAt);

  const ingest = await ingestRuns(dataset);
  let pg: PgResults | null = null;
  if (withPostgres()) {
    pg = await pgBench(dataset, {
      runs: RUNS,
      queryReps: QUERY_REPS,
      queryWarmups: QUERY_WARMUPS,
      queryBudgetMs: PG_QUERY_BUDGET_MS,
      wordIndexGraceMs: PG_WORD_INDEX_GRACE_MS,
    });
  }

  const prune = await pruneBench(dataset.lines, PRUNE_ROWS);
  say(
    `prune: ${formatInt(prune.rows)} rows appended to one partition in ${seconds(prune.fillMs)} (synchronous=normal), ` +
      `then dropped`,
  );

  const mix = mixCompaction(Math.min(LINES, MIX_LINES), Date.now());
  say(`mix: ${formatInt(mix.lines)} lines of nginx access and error lines and JSON app logs stored as rows, then their closed hours compacted in-process`);

  const tails = await tailFanOut(dataset, Math.min(TAIL_LINES, LINES), TAILS, CLIENTS);
  say(
    `tail: ${formatInt(tails.lines)} lines to ${tails.tails} unfiltered tails: ${formatInt(tails.delivered)} delivered, ` +
      `${formatInt(tails.dropped)} dropped (told); ingest ${formatInt(tails.ingestWithTailsRate)} lines/s with them, ` +
      `${formatInt(tails.ingestAloneRate)} without`,
  );

  const shipper = await shipperRuns();
  const nodeAgent = await nodeAgentRuns();
  say(`total bench time ${seconds(nowMs() - started)}`);

  const results = { ...ingest, runs: RUNS, lines: LINES, prune, meanMessageBytes: dataset.meanMessageBytes, shipper, tails };
  const webSection = (figure: AddFigure) => reportWeb(ingest.web, figure);
  const nodeSection = (figure: AddFigure) => reportNodeAgent(nodeAgent, figure);
  const sections = [(figure: AddFigure) => reportMix(mix, figure), nodeSection, webSection];
  report(results, pg ? [...sections, (figure) => reportPg(pg, ingest.queries, LINES, dataset.meanMessageBytes, figure)] : sections);
}

runMain('bench', main);
