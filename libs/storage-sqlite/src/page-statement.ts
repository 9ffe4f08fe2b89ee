import { MatchExpression, requiredSubstrings } from '@daylog/log-model';
import { FilterTerm, KeyRange, LineFilter, LineKey, LogQuery, PartitionBounds, WARN_SEVERITY, WordIndex, filterTerms, readsText } from '@daylog/storage';
import { ftsQuery } from './word-index';

/** Past this many label sets a filter is one JSON parameter, under SQLite's limit on parameters. */
const MAX_LISTED_LABEL_SETS = 200;

export interface Statement {
  sql: string;
  params: unknown[];
}

function requiredTokens(expression: MatchExpression): string[] {
  return expression.terms.flatMap((term) => (term.kind === 'word' ? [term.token] : term.tokens));
}

function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`;
}

/** What a line is read with, named as the core's LineRow names them. */
export const LINE_COLUMNS = 'id, ts, stream_id AS labelSetId, level AS severity, message, fields, format';

/** A partition's full-text index: which table, and the lines (by id) it holds. */
export interface FullTextIndex extends WordIndex {
  table: string;
}

interface Clause {
  where: string[];
  params: unknown[];
  notIndexed?: boolean;
}

/**
 * A key range as clauses whose lines, together, are its lines: the lines of the first and last
 * milliseconds apart from those between, so that each is a range of the time index (lines of one
 * millisecond are ordered by id there), however many lines share a millisecond.
 */
function keyRangePieces({ after, through }: KeyRange): Clause[] {
  if (after && through && after.ts === through.ts) return [{ where: ['ts = ?', 'id > ?', 'id <= ?'], params: [after.ts, after.id, through.id] }];
  const between: Clause = { where: [], params: [] };
  if (after) {
    between.where.push('ts > ?');
    between.params.push(after.ts);
  }
  if (through) {
    between.where.push('ts < ?');
    between.params.push(through.ts);
  }
  return [
    ...(after ? [{ where: ['ts = ?', 'id > ?'], params: [after.ts, after.id] }] : []),
    between,
    ...(through ? [{ where: ['ts = ?', 'id <= ?'], params: [through.ts, through.id] }] : []),
  ];
}

/** Each source once per piece of the range, or as it is without one. */
function withinRange(sources: Clause[], range: KeyRange | null): Clause[] {
  if (!range) return sources;
  return sources.flatMap((source) =>
    keyRangePieces(range).map((piece) => ({ ...source, where: [...source.where, ...piece.where], params: [...source.params, ...piece.params] })),
  );
}

/** Where a clause is written: the label sets the core resolved a filter's labelSet term to (null: all), and the table's time column. */
interface ClauseTarget {
  labelSetIds: number[] | null;
  timeColumn: string;
}

/**
 * One term of a filter as SQLite tests it (its meaning is FilterTerm's, in the core). A kind added there
 * and not here fails to compile: each case returns.
 */
function termClause(term: FilterTerm, { labelSetIds, timeColumn }: ClauseTarget): Clause {
  switch (term.kind) {
    case 'time':
      return { where: [`${timeColumn} >= ?`, `${timeColumn} < ?`], params: [term.fromMs, term.toMs] };
    case 'labelSet':
      if (!labelSetIds) return { where: [], params: [] };
      if (labelSetIds.length <= MAX_LISTED_LABEL_SETS) return { where: [`stream_id IN (${labelSetIds.map(() => '?').join(',')})`], params: labelSetIds };
      return { where: ['stream_id IN (SELECT value FROM json_each(?))'], params: [JSON.stringify(labelSetIds)] };
    case 'severity': {
      const where = [`level IN (${term.severities.join(',')})`];
      // Spelled out so that SQLite sees the partial index on warn and above applies.
      if (Math.min(...term.severities) >= WARN_SEVERITY) where.push(`level >= ${WARN_SEVERITY}`);
      return { where, params: [] };
    }
    case 'contains':
      return { where: [`message LIKE ? ESCAPE '\\'`], params: [likeContaining(term.text)] };
    case 'excludes':
      return { where: [`message NOT LIKE ? ESCAPE '\\'`], params: [likeContaining(term.text)] };
    case 'match': {
      const clause: Clause = { where: [], params: [] };
      // A cheap necessary condition before the word matcher runs: in ASCII text (same length in characters
      // as in bytes) each ASCII word is a substring, whatever its case. Other text goes to the matcher as is,
      // for accents and case beyond ASCII are folded there.
      for (const token of new Set(requiredTokens(term.expression))) {
        if (!/^[a-z0-9]+$/.test(token)) continue;
        clause.where.push(`(message LIKE ? ESCAPE '\\' OR length(message) <> length(CAST(message AS BLOB)))`);
        clause.params.push(likeContaining(token));
      }
      clause.where.push('daylog_match(message, ?)');
      clause.params.push(term.expression.text);
      return clause;
    }
    case 'regex': {
      // LIKE first for the texts every match holds: it compares them without case, so it keeps every line the regex
      // would, and SQLite tests it without calling into JavaScript.
      const required = requiredSubstrings(term.source);
      return {
        where: [...required.map(() => `message LIKE ? ESCAPE '\\'`), 'daylog_regexp(message, ?)'],
        params: [...required.map(likeContaining), term.source],
      };
    }
    case 'field':
      return { where: ['daylog_field(message, fields, format, ?, ?)'], params: [term.condition.name, term.condition.value] };
    case 'excludeField':
      return { where: ['NOT daylog_field(message, fields, format, ?, ?)'], params: [term.condition.name, term.condition.value] };
  }
}

/** The WHERE clause every read of lines shares: each of the terms, in their order. */
function filterClause(terms: readonly FilterTerm[], labelSetIds: number[] | null, timeColumn = 'ts'): Clause {
  const clauses = terms.map((term) => termClause(term, { labelSetIds, timeColumn }));
  return { where: clauses.flatMap((clause) => clause.where), params: clauses.flatMap((clause) => clause.params) };
}

/**
 * The WHERE clauses whose lines, together, are the lines that pass the filter. With a full-text
 * index and words to match, the lines the index holds are looked up through it (by rowid), and
 * those written since it was last brought up to date are read by rowid range; otherwise one clause.
 */
function lineSources(query: LineFilter, labelSetIds: number[] | null, index: FullTextIndex | null): Clause[] {
  const terms = filterTerms(query);
  if (!query.match || !index) return [filterClause(terms, labelSetIds)];
  const indexed = filterClause(terms, labelSetIds);
  indexed.where.unshift(`id <= ?`, `id IN (SELECT rowid FROM "${index.table}" WHERE "${index.table}" MATCH ?)`);
  indexed.params.unshift(index.indexedUpTo, ftsQuery(query.match));
  // NOT INDEXED keeps SQLite from walking the time index over every line for the few past the index:
  // it reads them by rowid range instead.
  const newer = { ...filterClause(terms, labelSetIds), notIndexed: true };
  newer.where.unshift('id > ?');
  newer.params.unshift(index.indexedUpTo);
  return [indexed, newer];
}

/** `SELECT columns FROM table WHERE …` for each source, as one row set. */
function selectFrom(table: string, columns: string, sources: Clause[]): Statement {
  const selects = sources.map(
    (source) => `SELECT ${columns} FROM "${table}"${source.notIndexed ? ' NOT INDEXED' : ''} WHERE ${source.where.join(' AND ')}`,
  );
  return {
    sql: selects.length === 1 ? selects[0] : `SELECT * FROM (${selects.join(' UNION ALL ')})`,
    params: sources.flatMap((source) => source.params),
  };
}

/**
 * The SQL for one partition's share of a page: filters, the keyset position, order and limit. Within
 * a key range (which then starts at or after the keyset position), only its lines.
 */
export function pageStatement(
  partition: PartitionBounds,
  query: LogQuery,
  labelSetIds: number[] | null,
  limit: number,
  index: FullTextIndex | null,
  range: KeyRange | null = null,
): Statement {
  const sources = withinRange(lineSources(query, labelSetIds, index), range);
  const backward = query.direction === 'backward';
  if (!range && query.after && query.after.partitionStart === partition.startMs) {
    for (const source of sources) {
      source.where.push(backward ? '(ts < ? OR (ts = ? AND id < ?))' : '(ts > ? OR (ts = ? AND id > ?))');
      source.params.push(query.after.ts, query.after.ts, query.after.id);
    }
  }
  const order = backward ? 'DESC' : 'ASC';
  const { sql, params } = selectFrom(partition.name, LINE_COLUMNS, sources);
  return { sql: `${sql} ORDER BY ts ${order}, id ${order} LIMIT ?`, params: [...params, limit] };
}

/** The start of a line's bucket: `bucketMs` wide from the epoch, or 0 when the whole range is one bucket. */
const bucketStart = (column: string, bucketMs: number | null): string => (bucketMs === null ? '0' : `${column} - ${column} % ${bucketMs}`);

/** Lines counted by bucket, label set and level, read from the lines themselves. */
export function countStatement(
  partition: PartitionBounds,
  query: LineFilter,
  labelSetIds: number[] | null,
  bucketMs: number | null,
  index: FullTextIndex | null,
  range: KeyRange | null = null,
): Statement {
  const { sql, params } = selectFrom(partition.name, 'ts, stream_id, level', withinRange(lineSources(query, labelSetIds, index), range));
  return {
    sql: `SELECT ${bucketStart('ts', bucketMs)} AS start, stream_id AS labelSetId, level AS severity, count(*) AS lines, max(ts) AS lastTs
      FROM (${sql}) GROUP BY 1, 2, 3`,
    params,
  };
}

/** The same counts from `line_counts`, for whole minutes (fromMs and toMs on minute boundaries) of lines not searched by text. */
export function minuteCountStatement(query: LineFilter, labelSetIds: number[] | null, bucketMs: number | null): Statement {
  const { where, params } = filterClause(filterTerms(query), labelSetIds, 'minute');
  return {
    sql: `SELECT ${bucketStart('minute', bucketMs)} AS start, stream_id AS labelSetId, level AS severity, sum(lines) AS lines, max(last_ts) AS lastTs
      FROM line_counts WHERE ${where.join(' AND ')} GROUP BY 1, 2, 3`,
    params,
  };
}

/** Lines per minute that a filter's labels and levels reach, from `line_counts`: how much a text search will read. */
export function minuteTotalsStatement(query: LineFilter, labelSetIds: number[] | null): Statement {
  const labelsAndLevels = filterTerms(query).filter((term) => !readsText(term));
  const { where, params } = filterClause(labelsAndLevels, labelSetIds, 'minute');
  return { sql: `SELECT minute, sum(lines) AS lines FROM line_counts WHERE ${where.join(' AND ')} GROUP BY minute ORDER BY minute`, params };
}

/**
 * The key of the `count`-th line (of any label set) after `start` in reading order within [fromMs, toMs),
 * walking the time index only: where a part of a busy minute ends. No row: fewer lines are left.
 */
export function lineKeyAfterStatement(partition: PartitionBounds, fromMs: number, toMs: number, start: LineKey | null, backward: boolean, count: number): Statement {
  const table = `"${partition.name}" INDEXED BY "${partition.name}_by_ts"`;
  const order = backward ? 'ORDER BY ts DESC, id DESC' : 'ORDER BY ts, id';
  const tail = `${order} LIMIT 1 OFFSET ?`;
  if (!start) return { sql: `SELECT ts, id FROM ${table} WHERE ts >= ? AND ts < ? ${tail}`, params: [fromMs, toMs, count - 1] };
  // The rest of the start's millisecond, then the milliseconds past it: two index ranges SQLite merges in order.
  const sameMs = `SELECT ts, id FROM ${table} WHERE ts = ? AND id ${backward ? '<' : '>'} ?`;
  const past = backward ? `SELECT ts, id FROM ${table} WHERE ts >= ? AND ts < ?` : `SELECT ts, id FROM ${table} WHERE ts > ? AND ts < ?`;
  const pastParams = backward ? [fromMs, start.ts] : [start.ts, toMs];
  return { sql: `SELECT ts, id FROM (${sameMs} UNION ALL ${past}) ${tail}`, params: [start.ts, start.id, ...pastParams, count - 1] };
}

/** Lines of the minutes from `fromMinute` (a minute's start) to before `toMs`, of every label set and level, from `line_counts`. */
export function rangeLinesStatement(fromMinute: number, toMs: number): Statement {
  return { sql: 'SELECT coalesce(sum(lines), 0) AS lines FROM line_counts WHERE minute >= ? AND minute < ?', params: [fromMinute, toMs] };
}
