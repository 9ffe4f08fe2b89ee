import { median, percentile } from './bench-support';
import { PgResults } from './pg-bench';
import { fastestRaw } from './pg-query-bench';
import { QueryOutcome } from './query-bench';
import { AddFigure, formatInt, formatPercent, say } from './report';

const INGEST_GOAL = 0.5;
const QUERY_GOAL = 2;
/** The newest-N pages against SQLite's in the same run: the plan, not the engine, is what this holds. */
const SQLITE_GOAL = 3;
const NEWEST_PAGES = new Set(['pod_newest', 'errors_newest']);

const ms = (value: number) => `${value.toFixed(2)} ms`;
const goal = (met: boolean) => (met ? 'met' : 'NOT met');
const times = (ratio: number) => `${ratio.toFixed(2)}×`;

function reportIngest(pg: PgResults, figure: AddFigure): void {
  const raw = median(pg.rawRates);
  const http = median(pg.httpRates);
  const two = median(pg.twoReplicaRates);
  const runs = (rates: number[]) => rates.map(formatInt).join(', ');
  const each = (rates: number[]) => rates.map((rate, i) => formatPercent(rate / pg.rawRates[i])).join(', ');
  say(`pg.ingest.raw  ${formatInt(raw).padStart(9)} lines/s   runs ${runs(pg.rawRates)}   (text COPY into logs, 10,000-row transactions)`);
  say(
    `pg.ingest.http ${formatInt(http).padStart(9)} lines/s   runs ${runs(pg.httpRates)}   one replica: http/raw ${formatPercent(http / raw)} ` +
      `(median over median)   goal ≥ ${formatPercent(INGEST_GOAL)}: ${goal(http / raw >= INGEST_GOAL)}; each run over the raw run before it: ${each(pg.httpRates)}`,
  );
  say(
    `pg.ingest.http_2replicas ${formatInt(two).padStart(9)} lines/s   runs ${runs(pg.twoReplicaRates)}   two replicas over one database: ` +
      `/raw ${formatPercent(two / raw)}, /one replica ${formatPercent(two / http)}; each run over the raw run before it: ${each(pg.twoReplicaRates)}`,
  );
  figure('pg.ingest.raw', raw, 'lines/s', undefined, 0);
  figure('pg.ingest.http', http, 'lines/s', raw, 0);
  figure('pg.ingest.http_2replicas', two, 'lines/s', raw, 0);
}

function reportQueries(pg: PgResults, sqliteQueries: readonly QueryOutcome[], figure: AddFigure): void {
  say(
    'pg.query ratios: http/raw is the page over HTTP, with the fixed cost of a request and its JSON (a few ms, more than a ' +
      "sub-millisecond page's SQL); engine/raw is the engine's reader in this process, without HTTP: its plan against the fastest raw SQL",
  );
  for (const q of pg.queries) {
    const [h50, h95] = [percentile(q.httpMs, 50), percentile(q.httpMs, 95)];
    const best = fastestRaw(q);
    const r50 = percentile(best.ms, 50);
    const e50 = percentile(q.engineMs, 50);
    const shapes = q.raw.map((shape) => `${shape.shape} ${ms(percentile(shape.ms, 50))}`).join(', ');
    const sqlite = sqliteQueries.find((outcome) => outcome.name === q.name);
    const s50 = sqlite ? percentile(sqlite.httpMs, 50) : null;
    const vsSqlite =
      s50 === null
        ? ''
        : ` | SQLite http p50 ${ms(s50)}: ${times(h50 / s50)}` + (NEWEST_PAGES.has(q.name) ? `   goal ≤ ${SQLITE_GOAL}×: ${goal(h50 / s50 <= SQLITE_GOAL)}` : '');
    say(
      `pg.query.${q.name.padEnd(14)} ?${q.params} (${q.lines} lines, ${q.httpMs.length} timed after ${q.warmups} warm-up): ` +
        `http p50 ${ms(h50)} p95 ${ms(h95)} | raw ${q.rawPage === q.name ? '' : `${q.rawPage} `}p50 ${ms(r50)} (${best.shape}) | ` +
        `http/raw p50 ${times(h50 / r50)}   goal ≤ ${QUERY_GOAL}×: ${goal(h50 / r50 <= QUERY_GOAL)} | ` +
        `engine p50 ${ms(e50)}: ${times(e50 / r50)} raw   goal ≤ ${QUERY_GOAL}×: ${goal(e50 / r50 <= QUERY_GOAL)}${vsSqlite}`,
    );
    if (q.raw.length > 1) say(`    raw shapes, p50: ${shapes}`);
    if (q.mismatch) say(`    WARNING: the HTTP page is not the raw one: ${q.mismatch}`);
    if (q.engineMismatch) say(`    WARNING: the engine's page is not the HTTP one: ${q.engineMismatch}`);
    figure(`pg.query.${q.name}`, h50, 'ms', r50);
    figure(`pg.query.${q.name}.p95`, h95, 'ms', percentile(best.ms, 95));
    figure(`pg.query.${q.name}.engine`, e50, 'ms', r50);
    if (s50 !== null) figure(`pg.query.${q.name}.vs_sqlite`, h50, 'ms', s50);
  }
}

/** The PostgreSQL figures of the same run: said in lines, added to the final JSON. */
export function reportPg(pg: PgResults, sqliteQueries: readonly QueryOutcome[], lines: number, meanMessageBytes: number, figure: AddFigure): void {
  say();
  say(`=== PostgreSQL (${pg.rawRates.length} runs, medians; the same lines, the same run) ===`);
  reportIngest(pg, figure);
  const { index } = pg;
  if (index.noIndex) {
    say(`pg word index: none appeared on ${index.closed} closed partitions: pg.query.word reads lines (a scan)`);
  } else {
    say(`pg.index.catch_up ${(index.ms / 1000).toFixed(2)} s after ingest for ${index.behindAtStart} of ${index.closed} closed partitions (${formatInt(index.linesBehindAtStart)} lines)`);
    figure('pg.index.catch_up', index.ms / 1000, 's');
  }
  reportQueries(pg, sqliteQueries, figure);
  const bytesPerLine = pg.storedBytes / lines;
  say(
    `pg.storage.bytes_per_line ${bytesPerLine.toFixed(1)} B (daylog_storage_bytes: every partition of the partitioned tables with ` +
      `their indexes, and the label sets; WAL not) vs mean message ${meanMessageBytes.toFixed(1)} B: ${times(bytesPerLine / meanMessageBytes)}`,
  );
  figure('pg.storage.bytes_per_line', bytesPerLine, 'B', meanMessageBytes, 1);
  say(`pg part of the bench: ${(pg.ms / 1000).toFixed(1)} s`);
}
