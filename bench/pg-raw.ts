import { cpus } from 'node:os';
import { Client } from 'pg';
import { LogLine } from '@daylog/log-model';
import { startPostgres } from '../test/support/postgres-cluster';
import { runMain, envInt, median, nowMs, onCleanup, percentile, round } from './bench-support';
import { NEEDLE, benchPod, makeDataset } from './dataset';
import { DURABLE_SETTINGS, TEMPLATE, connect, describeSettings, makeTemplate } from './pg-bench-cluster';
import { COPY_ROWS, copyLines } from './pg-raw-ingest';
import { PgQueryOutcome, pgQueryCases, timePgQueries } from './pg-raw-query';
import { HOUR_MS, partitionTable } from '../test/support/postgres-schema';
import { Figure, formatInt, mb, say, seconds } from './report';

const LINES = envInt('BENCH_LINES', 1_000_000, 1);
const RUNS = envInt('BENCH_RUNS', 3, 1);
const QUERY_REPS = envInt('BENCH_QUERY_REPS', 30, 1);
const QUERY_WARMUPS = 3;

/** Bytes on disk by table (indexes and TOAST included, partitions summed into their parent), and by index of logs. */
async function storedBytes(client: Client): Promise<{ tables: Map<string, number>; logParts: Map<string, number> }> {
  const tables = await client.query<{ name: string; bytes: string }>(
    `SELECT coalesce(parent.relname, c.relname) AS name, sum(pg_total_relation_size(c.oid)) AS bytes
     FROM pg_class c
     JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'public'
     LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
     LEFT JOIN pg_class parent ON parent.oid = i.inhparent
     WHERE c.relkind = 'r'
     GROUP BY 1 ORDER BY 2 DESC`,
  );
  const logParts = await client.query<{ name: string; bytes: string }>(
    `SELECT 'heap and TOAST' AS name, sum(pg_table_size(relid)) AS bytes FROM pg_partition_tree('logs') WHERE isleaf
     UNION ALL
     SELECT index.relname, sum(pg_relation_size(leaf.relid))
     FROM pg_index x
     JOIN pg_class index ON index.oid = x.indexrelid
     CROSS JOIN LATERAL pg_partition_tree(x.indexrelid) leaf
     WHERE x.indrelid = 'logs'::regclass AND leaf.isleaf
     GROUP BY index.relname`,
  );
  const byName = (rows: { name: string; bytes: string }[]) => new Map(rows.map((row) => [row.name, Number(row.bytes)]));
  return { tables: byName(tables.rows), logParts: byName(logParts.rows) };
}

function reportQueries(outcomes: PgQueryOutcome[], figures: Figure[]): void {
  const ms = (value: number) => `${value.toFixed(2)} ms`;
  for (const outcome of outcomes) {
    say();
    say(`query.${outcome.name}${outcome.inSqliteBench ? '' : ' (not in the SQLite bench)'}:`);
    for (const shape of outcome.shapes) {
      const [p50, p90] = [percentile(shape.ms, 50), percentile(shape.ms, 90)];
      say(`  ${shape.shape.padEnd(26)} p50 ${ms(p50).padStart(11)}  p90 ${ms(p90).padStart(11)}  ${shape.lines} lines`);
      if (shape.mismatch) say(`    WARNING: not the page of "${outcome.shapes[0].shape}": ${shape.mismatch}`);
      figures.push({ name: `pg.raw.query.${outcome.name}.${shape.shape.replace(/\W+/g, '_')}`, value: round(p50, 3), unit: 'ms' });
    }
    for (const shape of outcome.shapes) {
      say(`  plan, ${shape.shape}:`);
      for (const line of shape.plan) say(`    ${line}`);
    }
  }
}

async function main(): Promise<void> {
  const started = nowMs();
  say(
    `daylog pg-raw bench: ${formatInt(LINES)} lines, ${RUNS} COPY runs, node ${process.version}, ${cpus().length} cpus; ` +
      `PostgreSQL 15 with ${describeSettings()}`,
  );
  const dataset = makeDataset(LINES, Date.now());
  say(`data: bench/dataset.ts, mean message ${dataset.meanMessageBytes.toFixed(1)} B, ${dataset.needles} × "${NEEDLE}"`);
  const cluster = await startPostgres(DURABLE_SETTINGS);
  onCleanup(() => cluster.kill());
  const streamIds = await makeTemplate(cluster, dataset.firstTs, dataset.lastTs);
  const streamIdOf = (line: LogLine) => streamIds.get(line.pod)!;
  const figures: Figure[] = [];

  const rates: number[] = [];
  let client: Client | null = null;
  let url = '';
  for (let run = 1; run <= RUNS; run++) {
    await client?.end();
    url = await cluster.createDatabase(`daylog_run_${run}`, TEMPLATE);
    client = await connect(url);
    const copy = await copyLines(client, dataset.lines, streamIdOf);
    const rate = LINES / (copy.ms / 1000);
    rates.push(rate);
    say(`run ${run}/${RUNS} COPY: ${formatInt(LINES)} lines in ${seconds(copy.ms)} = ${formatInt(rate)} lines/s (${copy.copies} COPYs of ≤ ${formatInt(COPY_ROWS)} rows, one transaction each)`);
  }
  const last = client!;
  say(`pg.ingest.raw ${formatInt(median(rates))} lines/s (median of ${RUNS}: ${rates.map(formatInt).join(', ')})`);
  figures.push({ name: 'pg.ingest.raw', value: Math.round(median(rates)), unit: 'lines/s' });

  // One count row per (commit, minute, label set, level), as ingest appends them.
  await last.query(
    `INSERT INTO minute_counts (minute, last_ts, stream_id, lines, level)
     SELECT ts - ts % 60000, max(ts), stream_id, count(*), level FROM logs GROUP BY commit_id, 1, stream_id, level`,
  );
  await last.query('ANALYZE');
  const { tables, logParts } = await storedBytes(last);
  const total = [...tables.values()].reduce((sum, bytes) => sum + bytes, 0);
  const perLine = (bytes: number) => `${(bytes / LINES).toFixed(1)}`;
  say(`pg.storage.bytes_per_line ${perLine(total)} B (${mb(total)}, every table of the schema, indexes included; WAL not)`);
  say(`  by table, B/line: ${[...tables].map(([name, bytes]) => `${name} ${perLine(bytes)}`).join(', ')}`);
  say(`  logs, B/line: ${[...logParts].map(([name, bytes]) => `${name} ${perLine(bytes)}`).join(', ')}`);
  figures.push({ name: 'pg.storage.bytes_per_line', value: round(total / LINES, 1), unit: 'B' });

  const generic = await connect(url);
  await generic.query('SET plan_cache_mode = force_generic_plan');
  const partitions = [];
  for (let start = dataset.lastTs - (dataset.lastTs % HOUR_MS); start + HOUR_MS > dataset.firstTs; start -= HOUR_MS) {
    partitions.push({ name: partitionTable('logs', start), startMs: start });
  }
  const floorMs: number[] = [];
  for (let i = 0; i < QUERY_WARMUPS + QUERY_REPS; i++) {
    const sent = nowMs();
    await last.query('SELECT 1');
    if (i >= QUERY_WARMUPS) floorMs.push(nowMs() - sent);
  }
  say(`floor: SELECT 1 on the same connection p50 ${median(floorMs).toFixed(3)} ms`);
  const cases = pgQueryCases({ client: last, generic, streamIds, partitions, pod: benchPod(dataset) });
  const queryStart = nowMs();
  const outcomes = await timePgQueries(cases, QUERY_REPS, QUERY_WARMUPS);
  say(`queries: ${cases.length} kinds × their shapes × (${QUERY_WARMUPS} warm-up + ${QUERY_REPS} timed) in ${seconds(nowMs() - queryStart)}`);
  reportQueries(outcomes, figures);

  await generic.end();
  await last.end();
  await cluster.stop();
  say(`total bench time ${seconds(nowMs() - started)}`);
  say(JSON.stringify({ bench: 'daylog-pg-raw', figures }));
}

runMain('bench', main);
