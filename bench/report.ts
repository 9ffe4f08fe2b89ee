import { median, percentile, round } from './bench-support';
import { ClosedHours, CompactionOutcome } from './compaction-bench';
import { LokiOutcome } from './loki-bench';
import { QueryOutcome } from './query-bench';
import { PruneOutcome } from './prune-bench';
import { ShipperOutcome } from './shipper-bench';
import { TailOutcome } from './tail-bench';
import { WARM_UP_SHARE } from './steady-rate';

const INGEST_GOAL = 0.6;
const QUERY_GOAL = 2;
/**
 * A newest page over HTTP against the same page from BarePageServer: what Daylog's stack adds to the least an HTTP
 * answer in JSON costs. Against the raw SQL alone (QUERY_GOAL) a page also pays for HTTP and JSON themselves, which
 * no stack avoids; the line of each page says how much.
 */
const BARE_HTTP_GOAL = 2;
/** Bytes a line of the whole day (compacted hours and the current one), and of the compacted hours alone, over the mean message. */
const STORAGE_GOAL = 0.3;
const CLOSED_STORAGE_GOAL = 0.15;
const SHIPPER_RATE_GOAL = 50_000;
const SHIPPER_RSS_GOAL_MB = 80;
/** Ingest with the word index built meanwhile, over ingest without it. */
const INDEX_INGEST_GOAL = 0.85;
const WORD_SEARCH_GOAL_MS = 50;
/** Loki's query API over Daylog's own endpoint for the same answer. */
const LOKI_GOAL = 1.5;

export interface Figure {
  name: string;
  value: number;
  unit: string;
  baseline?: number;
  ratio?: number;
}

export interface Results {
  runs: number;
  lines: number;
  rawRates: number[];
  httpRates: number[];
  noIndexRates: number[];
  index: { ms: number; behindAtStart: number };
  queries: QueryOutcome[];
  floorMs: number[];
  prune: PruneOutcome;
  storedBytes: number;
  compaction: CompactionOutcome;
  closed: ClosedHours;
  meanMessageBytes: number;
  shipper: ShipperOutcome[];
  tails: TailOutcome;
  loki: LokiOutcome;
}

/** Adds a figure to the final JSON: its value, and its ratio to a baseline when there is one. */
export type AddFigure = (name: string, value: number, unit: string, baseline?: number, digits?: number) => void;

export const say = (line = ''): void => console.log(line);
export const seconds = (milliseconds: number): string => `${(milliseconds / 1000).toFixed(2)} s`;
export const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;
export const formatInt = (value: number): string => Math.round(value).toLocaleString('en-US');
export const formatPercent = (ratio: number): string => `${(ratio * 100).toFixed(1)} %`;
const ms = (value: number) => `${value.toFixed(2)} ms`;
const goal = (met: boolean) => (met ? 'met' : 'NOT met');

/**
 * The human-readable summary, then `sections` (each says its lines and adds its figures), then the one-line
 * JSON that must be the output's last line.
 */
export function report(results: Results, sections: readonly ((figure: AddFigure) => void)[] = []): void {
  const figures: Figure[] = [];
  const figure: AddFigure = (name, value, unit, baseline, digits = 3) => {
    const entry: Figure = { name, value: round(value, digits), unit };
    if (baseline !== undefined) {
      entry.baseline = round(baseline, digits);
      entry.ratio = round(value / baseline, 3);
    }
    figures.push(entry);
  };

  say();
  say(`=== summary (${results.runs} runs, medians) ===`);
  const httpRate = median(results.httpRates);
  const rawRate = median(results.rawRates);
  const ingestRatio = httpRate / rawRate;
  const pairRatios = results.httpRates.map((rate, i) => rate / results.rawRates[i]);
  const afterWarmUp = `after each run's first ${formatPercent(WARM_UP_SHARE)} of batches`;
  say(`ingest.http ${formatInt(httpRate).padStart(9)} lines/s ${afterWarmUp}   runs ${results.httpRates.map(formatInt).join(', ')}`);
  say(`ingest.raw  ${formatInt(rawRate).padStart(9)} lines/s ${afterWarmUp}   runs ${results.rawRates.map(formatInt).join(', ')}`);
  say(
    `ingest http/raw ${formatPercent(ingestRatio)} (median over median)   goal ≥ ${formatPercent(INGEST_GOAL)}: ` +
      `${goal(ingestRatio >= INGEST_GOAL)}; each http run over the raw run before it: ` +
      `${pairRatios.map(formatPercent).join(', ')}`,
  );
  figure('ingest.http', httpRate, 'lines/s', rawRate, 0);
  figure('ingest.raw', rawRate, 'lines/s', undefined, 0);

  const noIndexRate = median(results.noIndexRates);
  const indexRatio = httpRate / noIndexRate;
  say(
    `ingest with the word index built meanwhile ${formatInt(httpRate)} lines/s vs DAYLOG_FULL_TEXT=off ` +
      `${formatInt(noIndexRate)} lines/s (runs ${results.noIndexRates.map(formatInt).join(', ')}): ` +
      `${formatPercent(indexRatio)}   goal ≥ ${formatPercent(INDEX_INGEST_GOAL)}: ${goal(indexRatio >= INDEX_INGEST_GOAL)}`,
  );
  say(`index.catch_up ${(results.index.ms / 1000).toFixed(2)} s after ingest for ${formatInt(results.index.behindAtStart)} lines (the closed hours compacted, their word index with them)`);
  figure('ingest.http_index_off', noIndexRate, 'lines/s', undefined, 0);
  figure('ingest.with_index', httpRate, 'lines/s', noIndexRate, 0);
  figure('index.catch_up', results.index.ms / 1000, 's');

  const floor = results.floorMs;
  say(`http floor: GET /healthz on the same keep-alive connection p50 ${ms(percentile(floor, 50))} p95 ${ms(percentile(floor, 95))}`);
  for (const q of results.queries) {
    const [h50, h95] = [percentile(q.httpMs, 50), percentile(q.httpMs, 95)];
    const [r50, r95] = [percentile(q.rawMs, 50), percentile(q.rawMs, 95)];
    say(
      `query.${q.name.padEnd(14)} ?${q.params} (${q.lines} lines): http p50 ${ms(h50)} p95 ${ms(h95)} | ` +
        `raw p50 ${ms(r50)} p95 ${ms(r95)} | http/raw p50 ${(h50 / r50).toFixed(2)}× p95 ${(h95 / r95).toFixed(2)}×` +
        `   goal ≤ ${QUERY_GOAL}×: ${goal(h50 / r50 <= QUERY_GOAL)}`,
    );
    if (q.bareMs.length > 0) {
      const b50 = percentile(q.bareMs, 50);
      say(
        `    the same page from node's bare HTTP server (raw SQL, JSON, no framework) p50 ${ms(b50)} = ${(b50 / r50).toFixed(2)}× raw | ` +
          `http/bare p50 ${(h50 / b50).toFixed(2)}×   goal ≤ ${BARE_HTTP_GOAL}×: ${goal(h50 / b50 <= BARE_HTTP_GOAL)}`,
      );
      figure(`query.${q.name}.vs_bare_http`, h50, 'ms', b50);
    }
    say(`    plan in the newest partition: ${q.plan}`);
    if (q.mismatch) say(`    WARNING: the HTTP and raw pages differ: ${q.mismatch}`);
    if (q.name === 'word') {
      say(`    word search p50 ${ms(h50)} over HTTP vs the raw substring scan ${ms(r50)} of the same lines   goal < ${WORD_SEARCH_GOAL_MS} ms: ${goal(h50 < WORD_SEARCH_GOAL_MS)}`);
    }
    figure(`query.${q.name}`, h50, 'ms', r50);
    figure(`query.${q.name}.p95`, h95, 'ms', r95);
  }

  const { loki } = results;
  const lokiPairs: [string, string, number[], number[], string][] = [
    ['loki.query_range', `newest ${loki.lines} lines of a pod over 24 h`, loki.rangeMs, loki.logsMs, '/api/v1/logs'],
    ['loki.volume_24h', `volume histogram of the namespace over 24 h, 5m steps (${formatInt(loki.volumeLines)} lines in its points, ${formatInt(loki.statsLines)} in the stats)`, loki.volumeMs, loki.statsMs, '/api/v1/stats'],
  ];
  for (const [name, what, lokiMs, ownMs, own] of lokiPairs) {
    const [l50, o50] = [percentile(lokiMs, 50), percentile(ownMs, 50)];
    say(`${name.padEnd(17)} ${what}: p50 ${ms(l50)} p95 ${ms(percentile(lokiMs, 95))} | ${own} p50 ${ms(o50)} | ${(l50 / o50).toFixed(2)}×   goal ≤ ${LOKI_GOAL}×: ${goal(l50 / o50 <= LOKI_GOAL)}`);
    figure(name, l50, 'ms', o50);
  }
  if (loki.mismatch) say(`    WARNING: ${loki.mismatch}`);

  const { prune } = results;
  say(
    `prune.drop_1m ${ms(prune.dropMs)} to drop one partition of ${formatInt(prune.rows)} rows ` +
      `(data dir ${mb(prune.bytesBefore)} before, ${mb(prune.bytesAfter)} after)`,
  );
  figure('prune.drop_1m', prune.dropMs, 'ms');

  const bytesPerLine = results.storedBytes / results.lines;
  const ratio = bytesPerLine / results.meanMessageBytes;
  say(
    `storage.bytes_per_line ${bytesPerLine.toFixed(1)} B (whole data dir, WAL included) vs mean message ` +
      `${results.meanMessageBytes.toFixed(1)} B: ${ratio.toFixed(2)}×   goal ≤ ${STORAGE_GOAL}×: ${goal(ratio <= STORAGE_GOAL)}`,
  );
  figure('storage.bytes_per_line', bytesPerLine, 'B', results.meanMessageBytes, 1);

  const { closed, compaction } = results;
  const closedPerLine = closed.lines === 0 ? 0 : closed.bytes / closed.lines;
  const closedRatio = closedPerLine / results.meanMessageBytes;
  say(
    `storage.bytes_per_line_closed ${closedPerLine.toFixed(1)} B (${closed.partitions} compacted hours, ${formatInt(closed.lines)} lines, word index ` +
      `of blocks included) vs mean message: ${closedRatio.toFixed(3)}×   goal ≤ ${CLOSED_STORAGE_GOAL}×: ${goal(closed.lines > 0 && closedRatio <= CLOSED_STORAGE_GOAL)}`,
  );
  figure('storage.bytes_per_line_closed', closedPerLine, 'B', results.meanMessageBytes, 1);
  const compactionRate = compaction.lines / (compaction.ms / 1000);
  say(
    `compaction.lines_per_sec ${formatInt(compactionRate)} lines/s (the raw run's ${formatInt(compaction.lines)} lines of closed hours rewritten in-process, ` +
      `one thread; ${(compaction.bytesBefore / compaction.lines).toFixed(1)} → ${(compaction.bytesAfter / compaction.lines).toFixed(1)} B/line without and with compression)`,
  );
  figure('compaction.lines_per_sec', compactionRate, 'lines/s', undefined, 0);

  const shipperRates = results.shipper.map((o) => o.linesPerSec);
  const shipperRate = median(shipperRates);
  const rssMb = results.shipper.map((o) => o.peakRssBytes / 1e6);
  const shipperRss = median(rssMb);
  say(
    `shipper.lines_per_sec ${formatInt(shipperRate).padStart(9)} lines/s (${formatInt(results.shipper[0].lines)} lines, ` +
      `spawn to all shipped)   runs ${shipperRates.map(formatInt).join(', ')}   goal ≥ ${formatInt(SHIPPER_RATE_GOAL)} ` +
      `lines/s: ${goal(shipperRate >= SHIPPER_RATE_GOAL)}`,
  );
  say(
    `shipper.rss_mb ${shipperRss.toFixed(1)} MB peak RSS (VmHWM, 1 MB = 10^6 B; ${(shipperRss / 1.048576).toFixed(1)} MiB)   ` +
      `runs ${rssMb.map((value) => value.toFixed(1)).join(', ')}   goal < ${SHIPPER_RSS_GOAL_MB} MB: ${goal(shipperRss < SHIPPER_RSS_GOAL_MB)}`,
  );
  const { tails } = results;
  say(
    `tail.fanout ${formatInt(tails.deliveredPerSec)} lines/s delivered to ${tails.tails} tails (${formatInt(tails.delivered)} lines, ` +
      `${formatInt(tails.dropped)} dropped); ingest with them ${formatInt(tails.ingestWithTailsRate)} lines/s vs ` +
      `${formatInt(tails.ingestAloneRate)} without: ${formatPercent(tails.ingestWithTailsRate / tails.ingestAloneRate)}`,
  );
  figure('tail.fanout', tails.deliveredPerSec, 'lines/s', undefined, 0);
  figure('tail.ingest', tails.ingestWithTailsRate, 'lines/s', tails.ingestAloneRate, 0);

  figure('shipper.lines_per_sec', shipperRate, 'lines/s', undefined, 0);
  figure('shipper.rss_mb', shipperRss, 'MB', undefined, 1);

  for (const section of sections) section(figure);

  say(JSON.stringify({ bench: 'daylog', figures }));
}
