import { cpus } from 'node:os';
import { Client } from 'pg';
import { LogLine, parseMatchExpression } from '@daylog/log-model';
import { LineFilter, LineTestThreads, LogQuery, PartitionedReader, ScanBudget, StoredLogLine } from '@daylog/storage';
import { PgDatabase, PgPartitions, WordIndexBuilder, partitionTable } from '@daylog/storage-postgres';
import { linesStatement } from '../libs/storage-postgres/src/read-statements';
import { startPostgres } from '../test/support/postgres-cluster';
import { HOUR_MS, applySchema, createHourlyPartitions } from '../test/support/postgres-schema';
import { envInt, median, nowMs, onCleanup, round, runMain } from './bench-support';
import { CONTAINER, NAMESPACE, NEEDLE, POD_COUNT, SOURCE, makeDataset, podName } from './dataset';
import { copyLines } from './pg-raw-ingest';
import { formatInt, mb, say, seconds } from './report';

const LINES = envInt('BENCH_LINES', 1_000_000, 1);
const REPS = envInt('BENCH_QUERY_REPS', 10, 1);
const WARMUPS = 2;
const AMPLE: ScanBudget = { maxScannedLines: Infinity, deadlineMs: Infinity, timeoutMs: 600_000, now: () => Date.now() };

interface Figure {
  name: string;
  value: number;
  unit: string;
}

interface WordQuery {
  name: string;
  match: string;
  kind: 'page' | 'count';
}

/** A word in ten lines of the million (the needle), one in about a fifth of them, and a prefix. */
const QUERIES: WordQuery[] = [
  { name: 'rare_page', match: NEEDLE, kind: 'page' },
  { name: 'rare_count', match: NEEDLE, kind: 'count' },
  { name: 'common_page', match: 'shoes', kind: 'page' },
  { name: 'prefix_page', match: 'needl*', kind: 'page' },
];

function filterOf(match: string, fromMs: number, toMs: number): LineFilter {
  const expression = parseMatchExpression(match);
  if (typeof expression === 'string') throw new Error(expression);
  return { fromMs, toMs, labels: {}, levels: null, contains: [], excludes: [], match: expression };
}

/** What a query answers, to tell that both ways found the same: the ids of a page, or the count. */
async function run(reader: PartitionedReader, query: WordQuery, filter: LineFilter): Promise<string> {
  if (query.kind === 'count') return String((await reader.count({ ...filter, bucketMs: null }, AMPLE)).reduce((sum, count) => sum + count.lines, 0));
  const page: LogQuery = { ...filter, direction: 'backward', limit: 100, after: null };
  const lines: StoredLogLine[] = (await reader.query(page, AMPLE)).lines;
  return lines.map((line) => line.position.id).join(',');
}

async function timeQueries(reader: PartitionedReader, fromMs: number, toMs: number): Promise<Map<string, { p50: number; answer: string }>> {
  const timed = new Map<string, { p50: number; answer: string }>();
  for (const query of QUERIES) {
    const filter = filterOf(query.match, fromMs, toMs);
    const ms: number[] = [];
    let answer = '';
    for (let i = 0; i < WARMUPS + REPS; i++) {
      const started = nowMs();
      answer = await run(reader, query, filter);
      if (i >= WARMUPS) ms.push(nowMs() - started);
    }
    timed.set(query.name, { p50: median(ms), answer });
  }
  return timed;
}

/** The key lines of a plan: its nodes and their conditions. */
function keyLines(rows: { 'QUERY PLAN': string }[]): string[] {
  return rows.map((row) => row['QUERY PLAN']).filter((line) => /->|Scan|Cond|Filter|Execution/.test(line) || !line.startsWith(' '));
}

/** A closed partition's page of a rare word, planned with its values and without (a generic plan), explained. */
async function explainPlans(client: Client, partitionStart: number): Promise<void> {
  const statement = linesStatement({
    filter: filterOf(NEEDLE, partitionStart, partitionStart + HOUR_MS),
    labelSetIds: null,
    range: null,
    past: null,
    backward: true,
    limit: 500,
    indexedPartition: partitionTable('logs', partitionStart),
  });
  const custom = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ANALYZE ${statement.text}`, statement.values);
  say('  plan with its values:');
  for (const line of keyLines(custom.rows)) say(`    ${line}`);
  await client.query('SET plan_cache_mode = force_generic_plan');
  await client.query(`PREPARE words_page AS ${statement.text}`);
  // EXECUTE under EXPLAIN takes no bound values: they are written out.
  const literal = (value: unknown): string =>
    Array.isArray(value) ? `ARRAY[${value.map(literal).join(', ')}]` : typeof value === 'string' ? client.escapeLiteral(value) : String(value);
  const generic = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ANALYZE EXECUTE words_page(${statement.values.map(literal).join(', ')})`);
  say('  generic plan:');
  for (const line of keyLines(generic.rows)) say(`    ${line}`);
  await client.query('DEALLOCATE words_page; RESET plan_cache_mode');
}

/**
 * The word index of closed partitions on PostgreSQL: how long it takes to build per partition and what it weighs
 * per line, and a `match` over 24 h through the core's reader read by scanning (no index) and then through the
 * index, on bench/dataset.ts's lines.
 */
async function main(): Promise<void> {
  const started = nowMs();
  say(`daylog pg word index bench: ${formatInt(LINES)} lines, ${REPS} timed runs a query, node ${process.version}, ${cpus().length} cpus`);
  const dataset = makeDataset(LINES, Date.now());
  const cluster = await startPostgres();
  onCleanup(() => cluster.kill());
  const url = await cluster.createDatabase('daylog_words');
  const client = new Client({ connectionString: url });
  // A failed query rejects its own promise; this is only the connection lost when a failed run kills the cluster.
  client.on('error', () => undefined);
  await client.connect();
  await applySchema(client);
  const hours = await createHourlyPartitions(client, dataset.firstTs, dataset.lastTs);
  const { rows: streams } = await client.query<{ id: number; pod: string }>(
    `INSERT INTO streams (namespace, pod, container, source) SELECT $1, pod, $2, $3 FROM unnest($4::text[]) AS pod RETURNING id, pod`,
    [NAMESPACE, CONTAINER, SOURCE, Array.from({ length: POD_COUNT }, (_, i) => podName(i))],
  );
  const streamIds = new Map(streams.map((row) => [row.pod, row.id]));
  const copy = await copyLines(client, dataset.lines, (line: LogLine) => streamIds.get(line.pod)!);
  await client.query(
    `INSERT INTO minute_counts (minute, last_ts, stream_id, lines, level)
     SELECT ts - ts % 60000, max(ts), stream_id, count(*), level FROM logs GROUP BY commit_id, 1, stream_id, level`,
  );
  await client.query('ANALYZE');
  say(`data: ${formatInt(LINES)} lines (mean message ${dataset.meanMessageBytes.toFixed(1)} B) in ${hours} hourly partitions, copied in ${seconds(copy.ms)}`);

  const db = new PgDatabase({ url, maxConnections: 6, statementTimeoutMs: 600_000, applicationName: 'daylog-bench' });
  const threads = new LineTestThreads();
  const reader = new PartitionedReader(new PgPartitions(db, threads));
  const fromMs = dataset.firstTs;
  const toMs = dataset.lastTs + 1;
  const figures: Figure[] = [];

  const scanned = await timeQueries(reader, fromMs, toMs);

  const builder = new WordIndexBuilder(db, url);
  const builds: { ms: number; lines: number }[] = [];
  for (let built = await builder.buildNext(); built; built = await builder.buildNext()) {
    const { rows } = await client.query<{ lines: string }>(`SELECT count(*) AS lines FROM ${built.partition.name}`);
    builds.push({ ms: built.tookMs, lines: Number(rows[0].lines) });
  }
  const indexedLines = builds.reduce((sum, build) => sum + build.lines, 0);
  const buildMs = builds.reduce((sum, build) => sum + build.ms, 0);
  const { rows: sized } = await client.query<{ bytes: string }>(`SELECT coalesce(sum(pg_relation_size(oid)), 0) AS bytes FROM pg_class WHERE relname LIKE 'logs\\_%\\_words'`);
  const bytes = Number(sized[0].bytes);
  say(
    `build: ${builds.length} closed partitions of ~${formatInt(indexedLines / builds.length)} lines, ${seconds(median(builds.map((b) => b.ms)))} each (median; ` +
      `longest ${seconds(Math.max(...builds.map((b) => b.ms)))}), ${((buildMs * 1000) / indexedLines).toFixed(1)} µs a line, CREATE INDEX CONCURRENTLY and ANALYZE`,
  );
  say(`size: ${mb(bytes)} of word index, ${(bytes / indexedLines).toFixed(1)} B a line indexed`);
  figures.push({ name: 'pg.words.build_ms_per_partition', value: Math.round(median(builds.map((b) => b.ms))), unit: 'ms' });
  figures.push({ name: 'pg.words.build_us_per_line', value: round((buildMs * 1000) / indexedLines, 1), unit: 'µs' });
  figures.push({ name: 'pg.words.bytes_per_line', value: round(bytes / indexedLines, 1), unit: 'B' });

  const indexed = await timeQueries(reader, fromMs, toMs);
  say(`match over 24 h (${formatInt(LINES)} lines; the newest partition is scanned either way), p50 of ${REPS}:`);
  for (const query of QUERIES) {
    const scan = scanned.get(query.name)!;
    const index = indexed.get(query.name)!;
    const same = scan.answer === index.answer ? '' : '  WARNING: not the same answer';
    say(`  ${query.name.padEnd(12)} match=${query.match.padEnd(12)} scan ${scan.p50.toFixed(1).padStart(8)} ms   index ${index.p50.toFixed(1).padStart(8)} ms${same}`);
    figures.push({ name: `pg.query.word.${query.name}.scan`, value: round(scan.p50, 1), unit: 'ms' });
    figures.push({ name: `pg.query.word.${query.name}.index`, value: round(index.p50, 1), unit: 'ms' });
  }
  say(`plans of a closed partition's page of match=${NEEDLE}:`);
  await explainPlans(client, dataset.lastTs - (dataset.lastTs % HOUR_MS) - HOUR_MS);

  await client.end();
  reader.close();
  await db.close();
  await threads.stop();
  await cluster.stop();
  say(`total bench time ${seconds(nowMs() - started)}`);
  say(JSON.stringify({ bench: 'daylog-pg-words', figures }));
}

runMain('bench', main);
