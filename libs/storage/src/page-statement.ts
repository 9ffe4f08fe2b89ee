import { severityOf } from '@daylog/log-model';
import { LineFilter, LogQuery } from './log-store';
import { PartitionBounds, WARN_SEVERITY } from './partition-schema';

/** Past this many label sets a filter is one JSON parameter, under SQLite's limit on parameters. */
const MAX_LISTED_STREAMS = 200;

export interface Statement {
  sql: string;
  params: unknown[];
}

function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`;
}

/** What a line is read with; `LineRow` in the reader names the same columns. */
export const LINE_COLUMNS = 'SELECT id, ts, stream_id, level, message, fields, format';

/** The WHERE clause every read of lines shares: time range, label sets, levels, text. */
function lineFilter(query: LineFilter, streamIds: number[] | null, timeColumn = 'ts'): { where: string[]; params: unknown[] } {
  const where = [`${timeColumn} >= ?`, `${timeColumn} < ?`];
  const params: unknown[] = [query.fromMs, query.toMs];
  if (streamIds && streamIds.length <= MAX_LISTED_STREAMS) {
    where.push(`stream_id IN (${streamIds.map(() => '?').join(',')})`);
    params.push(...streamIds);
  } else if (streamIds) {
    where.push('stream_id IN (SELECT value FROM json_each(?))');
    params.push(JSON.stringify(streamIds));
  }
  if (query.levels) {
    const severities = query.levels.map(severityOf);
    where.push(`level IN (${severities.join(',')})`);
    // Spelled out so that SQLite sees the partial index on warn and above applies.
    if (Math.min(...severities) >= WARN_SEVERITY) where.push(`level >= ${WARN_SEVERITY}`);
  }
  for (const text of query.contains) {
    where.push(`message LIKE ? ESCAPE '\\'`);
    params.push(likeContaining(text));
  }
  for (const text of query.excludes) {
    where.push(`message NOT LIKE ? ESCAPE '\\'`);
    params.push(likeContaining(text));
  }
  return { where, params };
}

/** The SQL for one partition's share of a page: filters, the keyset position, order and limit. */
export function pageStatement(
  partition: PartitionBounds,
  query: LogQuery,
  streamIds: number[] | null,
  limit: number,
): Statement {
  const { where, params } = lineFilter(query, streamIds);
  const backward = query.direction === 'backward';
  if (query.after && query.after.partitionStart === partition.startMs) {
    where.push(backward ? '(ts < ? OR (ts = ? AND id < ?))' : '(ts > ? OR (ts = ? AND id > ?))');
    params.push(query.after.ts, query.after.ts, query.after.id);
  }
  const order = backward ? 'DESC' : 'ASC';
  params.push(limit);
  return {
    sql: `${LINE_COLUMNS} FROM "${partition.name}"
      WHERE ${where.join(' AND ')} ORDER BY ts ${order}, id ${order} LIMIT ?`,
    params,
  };
}

/** The start of a line's bucket: `bucketMs` wide from the epoch, or 0 when the whole range is one bucket. */
const bucketStart = (column: string, bucketMs: number | null): string => (bucketMs === null ? '0' : `${column} - ${column} % ${bucketMs}`);

/** Lines counted by bucket, label set and level, read from the lines themselves. */
export function countStatement(partition: PartitionBounds, query: LineFilter, streamIds: number[] | null, bucketMs: number | null): Statement {
  const { where, params } = lineFilter(query, streamIds);
  return {
    sql: `SELECT ${bucketStart('ts', bucketMs)} AS start, stream_id, level, count(*) AS lines, max(ts) AS last_ts
      FROM "${partition.name}" WHERE ${where.join(' AND ')} GROUP BY 1, 2, 3`,
    params,
  };
}

/** The same counts from `line_counts`, for whole minutes (fromMs and toMs on minute boundaries) of lines not searched by text. */
export function minuteCountStatement(query: LineFilter, streamIds: number[] | null, bucketMs: number | null): Statement {
  const { where, params } = lineFilter(query, streamIds, 'minute');
  return {
    sql: `SELECT ${bucketStart('minute', bucketMs)} AS start, stream_id, level, sum(lines) AS lines, max(last_ts) AS last_ts
      FROM line_counts WHERE ${where.join(' AND ')} GROUP BY 1, 2, 3`,
    params,
  };
}
