import { Client } from 'pg';
import { LEVELS, LogLine, lineFields, severityOf, tokens } from '@daylog/log-model';
import { formatOfCode } from '@daylog/storage';
import { median, nowMs } from './bench-support';
import { NEEDLE, POD_COUNT, podName } from './dataset';
import { HOUR_MS } from '../test/support/postgres-schema';
import { PAGE_LIMIT } from './query-bench';

const DAY_MS = 86_400_000;
/** Five pods: a filter matching several label sets, whose lines no single index holds in reading order. */
const FIVE_PODS = [1, 2, 3, 4, 5].map((i) => podName(i % POD_COUNT));
const COLUMNS = 'id, ts, stream_id, level, message, fields, format';
const ORDER = 'ORDER BY ts DESC, id DESC';

/** What query-bench.ts filters by (RawFilter), as the PostgreSQL schema stores it. */
interface PageFilter {
  streamIds?: number[];
  levels?: number[];
  contains?: string;
  /** Words every line holds, found through the closed partitions' word index (GIN on daylog_words, 002_word_index.sql). */
  words?: string[];
  /** The collation `contains` is matched under, when not the column's ("C"). */
  collation?: string;
}

interface LineRow {
  id: string;
  ts: string;
  stream_id: number;
  level: number;
  message: string;
  fields: string | null;
  format: number | null;
}

/** One way of asking PostgreSQL for a page: one or more statements, each with the time window's start as $1. */
export interface Shape {
  name: string;
  /** The lines of the page, newest first, as the reader makes them. */
  page(fromMs: number): Promise<LogLine[]>;
  /** EXPLAIN ANALYZE of the (first) statement. */
  plan(fromMs: number): Promise<string[]>;
}

export interface PgQueryCase {
  name: string;
  /** Whether SQLite's bench measures the same page (query-bench.ts), so the figures compare. */
  inSqliteBench: boolean;
  shapes: Shape[];
}

export interface PgShapeOutcome {
  shape: string;
  ms: number[];
  lines: number;
  plan: string[];
  /** Why this shape's page differs from the case's first shape's, or null when they are the same lines. */
  mismatch: string | null;
}

export interface PgQueryOutcome {
  name: string;
  inSqliteBench: boolean;
  shapes: PgShapeOutcome[];
}

/** The filter as SQL over the parameters after $1 (the window's start) and $2 (its end); page-statement.ts's meaning. */
function whereClause(filter: PageFilter, params: unknown[]): string {
  const where = ['ts >= $1', 'ts < $2'];
  const param = (value: unknown) => `$${params.push(value) + 2}`;
  if (filter.streamIds) where.push(`stream_id IN (${filter.streamIds.map(param).join(', ')})`);
  if (filter.levels) {
    where.push(`level IN (${filter.levels.join(', ')})`);
    if (Math.min(...filter.levels) >= severityOf('warn')) where.push(`level >= ${severityOf('warn')}`);
  }
  if (filter.contains !== undefined) {
    if (/[\\%_]/.test(filter.contains)) throw new Error(`the bench does not escape LIKE's wildcards: ${filter.contains}`);
    const message = filter.collation === undefined ? 'message' : `message COLLATE "${filter.collation}"`;
    where.push(`${message} ILIKE ${param(`%${filter.contains}%`)}`);
  }
  if (filter.words) where.push(`daylog_words(message) @@ daylog_words_query(${param(filter.words)}::text[], ${param(filter.words.map(() => false))}::boolean[])`);
  return where.join(' AND ');
}

function statement(table: string, filter: PageFilter, limit: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = whereClause(filter, params);
  return { sql: `SELECT ${COLUMNS} FROM ${table} WHERE ${where} ${ORDER} LIMIT ${limit}`, params };
}

/** The newest `limit` lines of each label set, merged: each an index scan in reading order that stops at the limit. */
function perLabelSetStatement(streamIds: number[], limit: number): { sql: string; params: unknown[] } {
  return {
    sql: `SELECT l.* FROM unnest($3::integer[]) AS s(id) CROSS JOIN LATERAL (
            SELECT ${COLUMNS} FROM logs WHERE stream_id = s.id AND ts >= $1 AND ts < $2 ${ORDER} LIMIT ${limit}
          ) AS l ${ORDER} LIMIT ${limit}`,
    params: [streamIds],
  };
}

/** Every matching line first, then the newest: a scan of each partition (in parallel) instead of a walk down the time index. */
function filterThenSortStatement(filter: PageFilter, limit: number): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = whereClause(filter, params);
  return { sql: `WITH hits AS MATERIALIZED (SELECT ${COLUMNS} FROM logs WHERE ${where}) SELECT * FROM hits ${ORDER} LIMIT ${limit}`, params };
}

const PLAN_DETAIL = /^\s*(Index Cond|Filter|Rows Removed by Filter|Workers Launched|Subplans Removed):/;
const PARTITION_SCAN = /->\s+(Parallel )?(Index|Index Only|Seq|Bitmap Heap) Scan/;
/** Partitions' scans shown in a row; the others of the row are counted in one line. */
const SCANS_SHOWN = 3;

/** The plan's nodes that ran with their conditions, and the times; the buffers of the top node alone. */
function keyLines(plan: string[]): string[] {
  const kept: string[] = [];
  let skipping = false;
  let scansInARow = 0;
  let hiddenScans = 0;
  const countHidden = () => {
    if (hiddenScans > 0) kept.push(`        … and ${hiddenScans} more partitions' scans alike`);
    hiddenScans = 0;
  };
  for (const line of plan) {
    if (line.startsWith('Planning:')) {
      skipping = true;
      continue;
    }
    const isNode = line.includes('->') || !line.startsWith(' ');
    if (!isNode) {
      if (!skipping && (PLAN_DETAIL.test(line) || (kept.length === 1 && line.includes('Buffers:')))) kept.push(line.trimEnd());
      continue;
    }
    const ran = !line.includes('never executed');
    const isScan = PARTITION_SCAN.test(line);
    if (!isScan) {
      countHidden();
      scansInARow = 0;
    } else if (ran) {
      scansInARow++;
    }
    skipping = !ran || scansInARow > SCANS_SHOWN;
    if (ran && scansInARow > SCANS_SHOWN) hiddenScans++;
    if (!skipping) kept.push(line.trimEnd());
  }
  countHidden();
  return kept;
}

function toLine(row: LineRow, streams: ReadonlyMap<number, string>): LogLine {
  const format = formatOfCode(row.format);
  const sent = row.fields === null ? null : (JSON.parse(row.fields) as LogLine['fields']);
  return {
    ts: Number(row.ts),
    level: LEVELS[row.level],
    namespace: null,
    pod: streams.get(row.stream_id)!,
    container: null,
    source: null,
    message: row.message,
    fields: lineFields(format, row.message, sent),
    format,
  };
}

/** The connections and names the shapes of a page are asked with. */
export interface PgQueryContext {
  /** Plans each unnamed statement with its values (custom plans), as node-postgres does. */
  client: Client;
  /** Keeps one generic plan per named statement. */
  generic: Client;
  /** Each pod's label set id. */
  streamIds: ReadonlyMap<string, number>;
  /** The logs partitions' names and starts, newest first. */
  partitions: readonly { name: string; startMs: number }[];
  /** The pod whose newest lines are paged (dataset.ts's benchPod). */
  pod: string;
}

interface ShapeMaker {
  oneStatement: (name: string, make: () => { sql: string; params: unknown[] }) => Shape;
  parent: (filter: PageFilter, name?: string) => Shape;
  /** The three shapes every page is asked in: on the parent with custom and generic plans, partition by partition. */
  shapes: (caseName: string, filter: PageFilter) => Shape[];
}

function shapeMaker({ client, generic, streamIds, partitions }: PgQueryContext): ShapeMaker {
  const pods = new Map([...streamIds].map(([pod, id]) => [id, pod]));
  const rows = async (sql: string, params: unknown[], on = client, name?: string) =>
    (await on.query<LineRow>({ text: sql, values: params, name })).rows.map((row) => toLine(row, pods));
  const explain = async (sql: string, params: unknown[]) =>
    (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) ${sql}`, params)).rows.map((row) => row['QUERY PLAN']);
  const window = (fromMs: number) => [fromMs, Number.MAX_SAFE_INTEGER];

  const oneStatement = (name: string, make: () => { sql: string; params: unknown[] }): Shape => {
    const { sql, params } = make();
    return { name, page: (fromMs) => rows(sql, [...window(fromMs), ...params]), plan: (fromMs) => explain(sql, [...window(fromMs), ...params]) };
  };
  const parent = (filter: PageFilter, name = 'logs, custom plan') => oneStatement(name, () => statement('logs', filter, PAGE_LIMIT + 1));
  const genericPlan = (caseName: string, filter: PageFilter): Shape => {
    const { sql, params } = statement('logs', filter, PAGE_LIMIT + 1);
    return {
      name: 'logs, generic plan',
      page: (fromMs) => rows(sql, [...window(fromMs), ...params], generic, caseName),
      plan: async (fromMs) => {
        await client.query(`PREPARE ${caseName} AS ${sql}`);
        await client.query('SET plan_cache_mode = force_generic_plan');
        try {
          const values = [...window(fromMs), ...params].map((value) => (typeof value === 'string' ? client.escapeLiteral(value) : String(value)));
          return (await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE ${caseName}(${values.join(', ')})`)).rows.map(
            (row) => row['QUERY PLAN'],
          );
        } finally {
          await client.query('RESET plan_cache_mode');
          await client.query(`DEALLOCATE ${caseName}`);
        }
      },
    };
  };
  // As SQLite's reader: the newest partition first, each its own statement, until the page is full.
  const byPartition = (filter: PageFilter): Shape => ({
    name: 'partition by partition',
    async page(fromMs) {
      const lines: LogLine[] = [];
      for (const partition of partitions) {
        if (partition.startMs + HOUR_MS <= fromMs) break;
        const { sql, params } = statement(partition.name, filter, PAGE_LIMIT + 1 - lines.length);
        lines.push(...(await rows(sql, [...window(fromMs), ...params])));
        if (lines.length > PAGE_LIMIT) break;
      }
      return lines;
    },
    plan(fromMs) {
      const { sql, params } = statement(partitions[0].name, filter, PAGE_LIMIT + 1);
      return explain(sql, [...window(fromMs), ...params]);
    },
  });
  return { oneStatement, parent, shapes: (name, filter) => [parent(filter), genericPlan(name, filter), byPartition(filter)] };
}

/**
 * The pages of the SQLite query bench (query-bench.ts's cases of the same names), each in the three shapes every
 * page is asked in. `generic` must have `plan_cache_mode = force_generic_plan`.
 */
export function pgSharedPages(context: PgQueryContext): PgQueryCase[] {
  const { shapes } = shapeMaker(context);
  return [
    { name: 'pod_newest', inSqliteBench: true, shapes: shapes('pod_newest', { streamIds: [context.streamIds.get(context.pod)!] }) },
    { name: 'errors_newest', inSqliteBench: true, shapes: shapes('errors_newest', { levels: [severityOf('error')] }) },
    { name: 'substring', inSqliteBench: true, shapes: shapes('substring', { contains: NEEDLE }) },
    // The needle's words through the index, then the needle itself: the lines `match=` finds, in the order it reads them.
    { name: 'word', inSqliteBench: true, shapes: shapes('word', { words: tokens(NEEDLE), contains: NEEDLE }) },
  ];
}

/**
 * pgSharedPages but the word (this bench builds no word index: without one, the word's SQL computes every line's
 * words), the substring in two shapes more, and two pages the SQLite bench does not measure.
 */
export function pgQueryCases(context: PgQueryContext): PgQueryCase[] {
  const { oneStatement, parent, shapes } = shapeMaker(context);
  const fivePodIds = FIVE_PODS.map((pod) => context.streamIds.get(pod)!);
  const substring = { contains: NEEDLE };
  const substringShapes = [
    oneStatement('filter, then sort', () => filterThenSortStatement(substring, PAGE_LIMIT + 1)),
    // What the same scan costs where messages compare under a libc locale, as a column without COLLATE "C" would.
    parent({ ...substring, collation: 'C.utf8' }, 'logs, C.UTF-8 collation'),
  ];
  return [
    ...pgSharedPages(context)
      .filter((page) => page.name !== 'word')
      .map((page) => (page.name === 'substring' ? { ...page, shapes: [...page.shapes, ...substringShapes] } : page)),
    { name: 'newest', inSqliteBench: false, shapes: shapes('newest', {}) },
    {
      name: 'five_pods_newest',
      inSqliteBench: false,
      shapes: [parent({ streamIds: fivePodIds }), oneStatement('per label set', () => perLabelSetStatement(fivePodIds, PAGE_LIMIT + 1))],
    },
  ];
}

function difference(expected: LogLine[], actual: LogLine[]): string | null {
  if (expected.length !== actual.length) return `${actual.length} lines, ${expected.length} expected`;
  const at = expected.findIndex((line, i) => line.ts !== actual[i].ts || line.message !== actual[i].message);
  return at === -1 ? null : `line ${at} differs: ${JSON.stringify(actual[at])} vs ${JSON.stringify(expected[at])}`;
}

/**
 * Each shape of each case `warmups` times, then `reps` times timed, the shapes of a case taking turns so all
 * see the same cache state. A sample is the statements' round trips plus making the line objects, as the
 * SQLite baseline's (raw-query.ts); the window is the last 24 h, as there.
 */
export async function timePgQueries(cases: readonly PgQueryCase[], reps: number, warmups: number): Promise<PgQueryOutcome[]> {
  const outcomes: PgQueryOutcome[] = [];
  for (const c of cases) {
    const samples = c.shapes.map(() => [] as number[]);
    const pages: LogLine[][] = [];
    for (let i = 0; i < warmups + reps; i++) {
      for (const [s, shape] of c.shapes.entries()) {
        const started = nowMs();
        pages[s] = await shape.page(Date.now() - DAY_MS);
        if (i >= warmups) samples[s].push(nowMs() - started);
      }
    }
    const shapes: PgShapeOutcome[] = [];
    for (const [s, shape] of c.shapes.entries()) {
      shapes.push({ shape: shape.name, ms: samples[s], lines: pages[s].length, plan: keyLines(await shape.plan(Date.now() - DAY_MS)), mismatch: difference(pages[0], pages[s]) });
    }
    outcomes.push({ name: c.name, inSqliteBench: c.inSqliteBench, shapes });
  }
  return outcomes;
}

export const p50 = (outcome: PgShapeOutcome): number => median(outcome.ms);
