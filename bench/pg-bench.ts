import { LogLine } from '@daylog/log-model';
import { livePartitions } from '@daylog/storage-postgres';
import { PostgresCluster, startPostgres } from '../test/support/postgres-cluster';
import { AggregatorProcess } from './aggregator-process';
import { median, nowMs, onCleanup } from './bench-support';
import { Dataset, benchPod } from './dataset';
import { parseMetrics, send } from './http-client';
import { httpIngest } from './http-ingest';
import { DURABLE_SETTINGS, TEMPLATE, connect, describeSettings, dropDatabase, makeTemplate } from './pg-bench-cluster';
import { PgEnginePages, engineFilters } from './pg-engine-pages';
import { PgPageCase, PgPageOutcome, fastestRaw, pgQueryBench } from './pg-query-bench';
import { COPY_ROWS, copyLines } from './pg-raw-ingest';
import { pgSharedPages } from './pg-raw-query';
import { PgWordIndexWait, waitForPgWordIndex } from './pg-word-index-wait';
import { queryCases } from './query-bench';
import { formatInt, formatPercent, say, seconds } from './report';

export interface PgBenchOptions {
  runs: number;
  queryReps: number;
  queryWarmups: number;
  /** What each query case may take (slow pages are timed fewer times). */
  queryBudgetMs: number;
  /** How long after ingest a first word index may take to appear before the bench stops waiting for one. */
  wordIndexGraceMs: number;
}

export interface PgResults {
  rawRates: number[];
  httpRates: number[];
  twoReplicaRates: number[];
  index: PgWordIndexWait;
  queries: PgPageOutcome[];
  /** What PgLogStore.stats() counts (daylog_storage_bytes on /metrics) once the last run's lines are in and indexed. */
  storedBytes: number;
  ms: number;
}

/** The pages measured on PostgreSQL, each held to the raw SQL of the same page. */
const PAGES: readonly { name: string; rawPage: string }[] = [
  { name: 'pod_newest', rawPage: 'pod_newest' },
  { name: 'errors_newest', rawPage: 'errors_newest' },
  { name: 'substring', rawPage: 'substring' },
  { name: 'word', rawPage: 'word' },
];

/** Every line of the dataset once in `logs`: nothing acknowledged lost, nothing stored twice (by two replicas). */
async function checkStored(url: string, lines: number, tag: string): Promise<void> {
  const client = await connect(url);
  try {
    const { rows } = await client.query<{ lines: string }>('SELECT count(*) AS lines FROM logs');
    if (Number(rows[0].lines) !== lines) throw new Error(`${tag}: ${rows[0].lines} lines stored, ${lines} acknowledged`);
  } finally {
    await client.end();
  }
}

/**
 * What autovacuum does to freshly loaded tables (statistics, hint bits, visibility map), done at once: a
 * worker that started meanwhile gives way to it. Returns how long it took.
 */
async function settle(url: string): Promise<number> {
  const client = await connect(url);
  try {
    const started = nowMs();
    await client.query('VACUUM (ANALYZE)');
    return nowMs() - started;
  } finally {
    await client.end();
  }
}

async function storageBytes(aggregator: AggregatorProcess): Promise<number> {
  const answer = await send(false, aggregator.port, 'GET', '/metrics');
  const bytes = parseMetrics(answer.body).get('daylog_storage_bytes');
  if (answer.status !== 200 || bytes === undefined) throw new Error(`GET /metrics answered ${answer.status} without daylog_storage_bytes`);
  return bytes;
}

async function rawRun(cluster: PostgresCluster, dataset: Dataset, streamIds: ReadonlyMap<string, number>, run: number, tag: string): Promise<number> {
  const name = `daylog_raw_${run}`;
  const client = await connect(await cluster.createDatabase(name, TEMPLATE));
  let rate: number;
  try {
    const copy = await copyLines(client, dataset.lines, (line: LogLine) => streamIds.get(line.pod)!);
    rate = dataset.lines.length / (copy.ms / 1000);
    say(
      `${tag} pg raw : ${formatInt(dataset.lines.length)} lines in ${seconds(copy.ms)} = ${formatInt(rate)} lines/s ` +
        `(${copy.copies} COPYs of ≤ ${formatInt(COPY_ROWS)} rows into logs, one transaction each)`,
    );
  } finally {
    await client.end();
  }
  await dropDatabase(cluster, name);
  return rate;
}

/** Replicas on one database, started together (each migrates under the advisory lock), stopped by SIGTERM. */
async function withReplicas<T>(url: string, count: number, work: (replicas: AggregatorProcess[]) => Promise<T>): Promise<T> {
  const starts = Array.from({ length: count }, () => AggregatorProcess.startOnPostgres(url));
  const settled = await Promise.allSettled(starts);
  const replicas = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  try {
    const failed = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    const result = await work(replicas);
    for (const replica of replicas) await replica.stop();
    return result;
  } catch (error) {
    for (const replica of replicas) replica.kill();
    throw error;
  }
}

async function queryRun(port: number, url: string, dataset: Dataset, options: PgBenchOptions): Promise<PgPageOutcome[]> {
  const client = await connect(url);
  const generic = await connect(url);
  const engine = PgEnginePages.open(url);
  try {
    await generic.query('SET plan_cache_mode = force_generic_plan');
    const { rows } = await client.query<{ id: number; pod: string }>('SELECT id, pod FROM streams');
    const partitions = (await livePartitions(client)).reverse();
    const context = { client, generic, streamIds: new Map(rows.map((row) => [row.pod, row.id])), partitions, pod: benchPod(dataset) };
    const raw = new Map(pgSharedPages(context).map((page) => [page.name, page.shapes]));
    const http = new Map(queryCases(context.pod).map((c) => [c.name, c]));
    const filters = engineFilters(context.pod);
    const outcomes: PgPageOutcome[] = [];
    for (const page of PAGES) {
      // A page held to another's raw SQL is held to its fastest shape, measured again here alone.
      const earlier = outcomes.find((outcome) => outcome.name === page.rawPage);
      const shapes = raw.get(page.rawPage)!;
      const pageCase: PgPageCase = {
        http: http.get(page.name)!,
        engine: () => engine.page(filters.get(page.name)!),
        raw: earlier ? shapes.filter((shape) => shape.name === fastestRaw(earlier).shape) : shapes,
        rawPage: page.rawPage,
      };
      outcomes.push(...(await pgQueryBench(port, [pageCase], { reps: options.queryReps, warmups: options.queryWarmups, budgetMs: options.queryBudgetMs })));
    }
    return outcomes;
  } finally {
    await engine.close();
    await generic.end();
    await client.end();
  }
}

/** On the last run's database, its replica still up: the word index awaited, the bytes, the queries. */
async function measure(replica: AggregatorProcess, url: string, dataset: Dataset, options: PgBenchOptions, tag: string) {
  const index = await waitForPgWordIndex(url, options.wordIndexGraceMs);
  say(
    index.noIndex
      ? `${tag} pg word index: none of ${index.closed} closed partitions had one ${seconds(index.ms)} after ingest ended: words are searched by reading lines`
      : `${tag} pg word index: ${index.behindAtStart} of ${index.closed} closed partitions (${formatInt(index.linesBehindAtStart)} lines) without one when ingest ended, all built ${seconds(index.ms)} later`,
  );
  const settled = await settle(url);
  say(`${tag} pg VACUUM (ANALYZE) of the database in ${seconds(settled)}, as autovacuum would do after the load (here so that it does not run during the timings)`);
  const storedBytes = await storageBytes(replica);
  const queryStart = nowMs();
  const queries = await queryRun(replica.port, url, dataset, options);
  say(`${tag} pg queries: ${queries.length} kinds × (warm-up + timed) × http, engine and raw in ${seconds(nowMs() - queryStart)}`);
  return { index, storedBytes, queries };
}

/**
 * The PostgreSQL part of `npm run bench`, on a throwaway cluster with durable settings: each run, raw COPY of
 * the dataset into the schema (a copy of a template with its partitions and label sets), then the same lines
 * through one aggregator replica, then through two over one database, each on a database of its own dropped
 * once measured. The last run's one-replica database is kept for the queries (after the word index of its
 * closed hours, if the engine builds one) and the bytes.
 */
export async function pgBench(dataset: Dataset, options: PgBenchOptions): Promise<PgResults> {
  const started = nowMs();
  const lines = dataset.lines.length;
  say();
  say(`PostgreSQL: a throwaway PostgreSQL 15 cluster with ${describeSettings()}; aggregators on their defaults with DAYLOG_POSTGRES_URL`);
  const cluster = await startPostgres(DURABLE_SETTINGS);
  const forget = onCleanup(() => cluster.kill());
  const streamIds = await makeTemplate(cluster, dataset.firstTs, dataset.lastTs);
  const rawRates: number[] = [];
  const httpRates: number[] = [];
  const twoReplicaRates: number[] = [];
  let measured: Pick<PgResults, 'index' | 'queries' | 'storedBytes'> | null = null;

  for (let run = 1; run <= options.runs; run++) {
    const tag = `run ${run}/${options.runs}`;
    const rawRate = await rawRun(cluster, dataset, streamIds, run, tag);
    rawRates.push(rawRate);

    const httpName = `daylog_http_${run}`;
    const httpUrl = await cluster.createDatabase(httpName);
    measured =
      (await withReplicas(httpUrl, 1, async ([replica]) => {
        httpRates.push(await httpIngest([replica], dataset, `${tag} pg`, rawRate, 'whole'));
        await checkStored(httpUrl, lines, `${tag} pg http`);
        return run === options.runs ? measure(replica, httpUrl, dataset, options, tag) : null;
      })) ?? measured;
    await dropDatabase(cluster, httpName);

    const replicasName = `daylog_replicas_${run}`;
    const replicasUrl = await cluster.createDatabase(replicasName);
    await withReplicas(replicasUrl, 2, async (replicas) => {
      twoReplicaRates.push(await httpIngest(replicas, dataset, `${tag} pg 2 replicas`, rawRate, 'whole'));
      await checkStored(replicasUrl, lines, `${tag} pg 2 replicas`);
    });
    await dropDatabase(cluster, replicasName);
  }
  await cluster.stop();
  forget();
  const ms = nowMs() - started;
  say(
    `pg: COPY ${formatInt(median(rawRates))}, one replica ${formatInt(median(httpRates))} ` +
      `(${formatPercent(median(httpRates) / median(rawRates))}), two ${formatInt(median(twoReplicaRates))} lines/s (medians); ` +
      `the PostgreSQL part took ${seconds(ms)}`,
  );
  return { rawRates, httpRates, twoReplicaRates, ...measured!, ms };
}
