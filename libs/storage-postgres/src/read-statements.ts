import { createHash } from 'node:crypto';
import { CountQuery, FilterTerm, KeyRange, LineFilter, LineKey, filterTerms, readsText } from '@daylog/storage';
import { LINE_COLUMNS } from './line-rows';
import { requiredWords, wordsMatchCondition } from './word-index';

/** What PgDatabase.query runs: a name makes it a statement prepared once a connection, planned generically after a few runs. */
export interface Statement {
  text: string;
  values: unknown[];
  name?: string;
}

/**
 * Past this many label sets a page reads them as one array, which the planner walks as it sees fit: up to it,
 * each label set's newest lines come from its own index range in reading order, merged (LATERAL over unnest),
 * where one scan of several ranges would have to sort them all.
 */
const MAX_MERGED_LABEL_SETS = 64;

/** The character PostgreSQL's text cannot hold, and the one that stands in for it in `message` (line-rows.ts). */
const NUL_STAND_IN = '\ufffd';

/** A statement's values as its text is written: each added value gives its placeholder. */
class Values {
  readonly list: unknown[] = [];

  add(value: unknown, cast = ''): string {
    this.list.push(value);
    return `$${this.list.length}${cast}`;
  }
}

/** How a read's label sets are written: every one (null), the ids as a list, or the one a merge over unnest drives. */
type LabelSetsAs = { ids: number[] | null } | { driver: string };

interface ClauseTarget {
  labelSets: LabelSetsAs;
  /** The table's time column: `ts` for lines, `minute` for the per-minute counts. */
  timeColumn: string;
  /** Whether the partition read has a word index (word-index.ts) to find a match's lines with. */
  wordIndex?: boolean;
}

/** What JavaScript still tests after SQL has narrowed the lines: the text terms SQL cannot decide. */
type LeftToTest = Pick<LineFilter, 'contains' | 'excludes' | 'match' | 'regex' | 'fields' | 'excludeFields'>;

interface TermSql {
  where: string[];
  /** The term again, when SQL only narrows its lines and JavaScript decides. */
  test?: Partial<LeftToTest>;
}

function likeContaining(text: string): string {
  return `%${text.replace(/[\\%_]/g, '\\$&')}%`;
}

function labelSetsWhere(labelSets: LabelSetsAs, values: Values): string[] {
  if ('driver' in labelSets) return [`stream_id = ${labelSets.driver}`];
  const { ids } = labelSets;
  if (ids === null) return [];
  return ids.length === 1 ? [`stream_id = ${values.add(ids[0])}`] : [`stream_id = ANY(${values.add(ids, '::integer[]')})`];
}

/**
 * One term of a filter as PostgreSQL tests it (its meaning is FilterTerm's, in the core). A kind added there and
 * not here fails to compile: each case returns. `contains` and `excludes` are exact in SQL: ILIKE under the
 * column's "C" collation folds ASCII letters only, as the meaning says. A message that held NUL has U+FFFD in its
 * place in `message`, so a text with U+FFFD is decided in JavaScript for such lines. `match` is only narrowed
 * (its words are folded in JavaScript, accents too), through the partition's word index where it has one,
 * `regex` not at all (JavaScript's syntax and meaning), nor field terms (fields read from the message as it is read).
 */
function termSql(term: FilterTerm, target: ClauseTarget, values: Values): TermSql {
  const { labelSets, timeColumn } = target;
  switch (term.kind) {
    case 'time':
      return { where: [`${timeColumn} >= ${values.add(term.fromMs)}`, `${timeColumn} < ${values.add(term.toMs)}`] };
    case 'labelSet':
      return { where: labelSetsWhere(labelSets, values) };
    case 'severity':
      // Written out, not a parameter: so the planner, even in a generic plan, sees when the partial index on warn
      // and above applies, without a redundant condition that would make it expect ten times fewer lines.
      if (term.severities.length === 0) return { where: ['false'] };
      return { where: [`level IN (${term.severities.map((severity) => Math.trunc(severity)).join(', ')})`] };
    case 'contains': {
      const like = `message ILIKE ${values.add(likeContaining(term.text))}`;
      if (!term.text.includes(NUL_STAND_IN)) return { where: [like] };
      return { where: [`(${like} OR message_with_nul IS NOT NULL)`], test: { contains: [term.text] } };
    }
    case 'excludes': {
      const unlike = `message NOT ILIKE ${values.add(likeContaining(term.text))}`;
      if (!term.text.includes(NUL_STAND_IN)) return { where: [unlike] };
      return { where: [`(${unlike} OR message_with_nul IS NOT NULL)`], test: { excludes: [term.text] } };
    }
    case 'match': {
      if (target.wordIndex) {
        const { words, prefixes } = requiredWords(term.expression);
        return { where: [wordsMatchCondition(values.add(words, '::text[]'), values.add(prefixes, '::boolean[]'))], test: { match: term.expression } };
      }
      // Else a necessary condition, cheap: in ASCII text (as many bytes as characters) each ASCII word is a substring,
      // whatever its case. Other text goes to the word matcher as it is, which folds accents and case beyond ASCII.
      const where = [...new Set(requiredWords(term.expression).words)]
        .filter((token) => /^[a-z0-9]+$/.test(token))
        .map((token) => `(message ILIKE ${values.add(likeContaining(token))} OR octet_length(message) <> length(message))`);
      return { where, test: { match: term.expression } };
    }
    case 'regex':
      return { where: [], test: { regex: term.source } };
    case 'field':
      return { where: [], test: { fields: [term.condition] } };
    case 'excludeField':
      return { where: [], test: { excludeFields: [term.condition] } };
  }
}

function filterSql(terms: readonly FilterTerm[], target: ClauseTarget, values: Values): TermSql[] {
  return terms.map((term) => termSql(term, target, values));
}

/**
 * What of a filter JavaScript must test (lineMatcher's meaning, through a LineTester) on the lines SQL reads
 * for it; null: SQL decides every term. Its labels, levels and times pass every line: SQL has tested those.
 */
export function testLeftToJavaScript(filter: LineFilter): LineFilter | null {
  const tests = filterSql(filterTerms(filter), { labelSets: { ids: null }, timeColumn: 'ts' }, new Values()).flatMap((term) => (term.test ? [term.test] : []));
  if (tests.length === 0) return null;
  const left: LineFilter = { fromMs: 0, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [] };
  for (const test of tests) {
    left.contains.push(...(test.contains ?? []));
    left.excludes.push(...(test.excludes ?? []));
    if (test.match) left.match = test.match;
    if (test.regex !== undefined) left.regex = test.regex;
    if (test.fields) left.fields = [...(left.fields ?? []), ...test.fields];
    if (test.excludeFields) left.excludeFields = [...(left.excludeFields ?? []), ...test.excludeFields];
  }
  return left;
}

/** A name for a statement's text, the same on every connection and replica. */
function named(statement: Statement): Statement {
  return { ...statement, name: `daylog_${createHash('sha256').update(statement.text).digest('hex').slice(0, 32)}` };
}

/** Lines of one window, in reading order, as a page or a chunk of candidates reads them. */
export interface WindowLines {
  /** The filter, its time range the window's. */
  filter: LineFilter;
  labelSetIds: number[] | null;
  /** Only the lines of this key range (forward order); null: the whole window. */
  range: KeyRange | null;
  /** Only the lines past this one in reading order; null: from the window's (or range's) edge. */
  past: LineKey | null;
  backward: boolean;
  limit: number;
  /**
   * A partition with a word index, read by its own table so that a match is narrowed by that index whatever the
   * plan (a generic plan over `logs` is made for every partition at once, the newest without an index among them,
   * and read them all in time order with the words tested line by line); null: `logs`, pruned to the window's partition.
   */
  indexedPartition: string | null;
}

/** The range and position of a read, as conditions on the time index's key. */
function keyWhere({ range, past, backward }: Pick<WindowLines, 'range' | 'past' | 'backward'>, values: Values): string[] {
  const key = ({ ts, id }: LineKey) => `(${values.add(ts)}, ${values.add(id)})`;
  const where: string[] = [];
  if (range?.after) where.push(`(ts, id) > ${key(range.after)}`);
  if (range?.through) where.push(`(ts, id) <= ${key(range.through)}`);
  if (past) where.push(`(ts, id) ${backward ? '<' : '>'} ${key(past)}`);
  return where;
}

/**
 * A window's lines in reading order, at most `limit`: a walk down one index that stops at the limit. Several
 * label sets (up to MAX_MERGED_LABEL_SETS) are each read from their own index range and merged. Statements
 * without text are prepared (named): their plans depend on no pattern's selectivity; a text search's are
 * planned with its patterns each time.
 */
export function linesStatement(lines: WindowLines): Statement {
  const values = new Values();
  const statement = { text: linesSelect(lines, values), values: values.list };
  return filterTerms(lines.filter).some(readsText) ? statement : named(statement);
}

/** linesStatement's SELECT, its values added to `values`. */
function linesSelect(lines: WindowLines, values: Values): string {
  const terms = filterTerms(lines.filter);
  const order = (table = '') => (lines.backward ? `ORDER BY ${table}ts DESC, ${table}id DESC` : `ORDER BY ${table}ts, ${table}id`);
  const ids = lines.labelSetIds;
  const merged = ids !== null && ids.length > 1 && ids.length <= MAX_MERGED_LABEL_SETS;
  const labelSets: LabelSetsAs = merged ? { driver: 'label_sets.id' } : { ids };
  const wordIndex = lines.indexedPartition !== null;
  const where = [...filterSql(terms, { labelSets, timeColumn: 'ts', wordIndex }, values).flatMap((term) => term.where), ...keyWhere(lines, values)];
  const limit = values.add(lines.limit);
  const select = `SELECT ${LINE_COLUMNS} FROM ${lines.indexedPartition ?? 'logs'} WHERE ${where.join(' AND ')} ${order()} LIMIT ${limit}`;
  if (!merged) return select;
  return `SELECT lines.* FROM unnest(${values.add(ids, '::integer[]')}) AS label_sets(id) CROSS JOIN LATERAL (${select}) AS lines ${order('lines.')} LIMIT ${limit}`;
}

/**
 * Several windows' lines in one statement, window after window (each row says its window's index in `windows`),
 * at most `limit` in all: each window's SELECT is linesStatement's, with its own order and limit, so the Append
 * of them cannot be a parallel one, and runs them in turn; the outer LIMIT stops it once the page has its lines,
 * before the windows it does not need are read. For windows read through their partitions' word index.
 */
export function windowsStatement(windows: readonly WindowLines[], limit: number): Statement {
  const values = new Values();
  const selects = windows.map((lines, i) => `(SELECT ${i} AS "window", w.* FROM (${linesSelect(lines, values)}) AS w)`);
  return { text: `SELECT * FROM (${selects.join(' UNION ALL ')}) AS windows LIMIT ${values.add(limit)}`, values: values.list };
}

/** The start of a row's bucket: `bucketMs` wide from the epoch, or 0 when the whole range is one bucket. */
function bucketStart(column: string, bucketMs: CountQuery['bucketMs'], values: Values): string {
  return bucketMs === null ? '0' : `${column} - ${column} % ${values.add(bucketMs)}`;
}

/** A window's lines counted by bucket, label set and severity, where SQL decides the whole filter. */
export function countStatement(lines: Pick<WindowLines, 'filter' | 'labelSetIds' | 'range'>, bucketMs: CountQuery['bucketMs']): Statement {
  const values = new Values();
  const start = bucketStart('ts', bucketMs, values);
  const terms = filterTerms(lines.filter);
  const where = [
    ...filterSql(terms, { labelSets: { ids: lines.labelSetIds }, timeColumn: 'ts' }, values).flatMap((term) => term.where),
    ...keyWhere({ range: lines.range, past: null, backward: false }, values),
  ];
  return {
    text: `SELECT ${start} AS start, stream_id AS "labelSetId", level AS severity, count(*) AS lines, max(ts) AS "lastTs"
             FROM logs WHERE ${where.join(' AND ')} GROUP BY 1, 2, 3`,
    values: values.list,
  };
}

/** The per-minute counts' conditions for a filter's labels, levels and time (minutes from `fromMs` to before `toMs`). */
function minuteWhere(filter: LineFilter, labelSetIds: number[] | null, values: Values): string {
  const terms = filterTerms(filter).filter((term) => !readsText(term));
  return filterSql(terms, { labelSets: { ids: labelSetIds }, timeColumn: 'minute' }, values)
    .flatMap((term) => term.where)
    .join(' AND ');
}

/**
 * Counts by bucket, label set and severity from `minute_counts`, for whole minutes of lines not searched by
 * text. Rows are appended per ingest commit, so a minute's are summed.
 */
export function minuteCountStatement(filter: LineFilter, labelSetIds: number[] | null, bucketMs: CountQuery['bucketMs']): Statement {
  const values = new Values();
  const start = bucketStart('minute', bucketMs, values);
  const where = minuteWhere(filter, labelSetIds, values);
  return named({
    text: `SELECT ${start} AS start, stream_id AS "labelSetId", level AS severity, sum(lines)::bigint AS lines, max(last_ts) AS "lastTs"
             FROM minute_counts WHERE ${where} GROUP BY 1, 2, 3`,
    values: values.list,
  });
}

/** Lines per minute that a filter's labels and levels reach, from `minute_counts`: how much a text search will read. */
export function minuteTotalsStatement(filter: LineFilter, labelSetIds: number[] | null): Statement {
  const values = new Values();
  const where = minuteWhere(filter, labelSetIds, values);
  return named({ text: `SELECT minute, sum(lines)::bigint AS lines FROM minute_counts WHERE ${where} GROUP BY minute ORDER BY minute`, values: values.list });
}

/** Lines of the minutes from `fromMinute` to before `toMs`, of every label set and level. */
export function rangeLinesStatement(fromMinute: number, toMs: number): Statement {
  return named({ text: 'SELECT coalesce(sum(lines), 0)::bigint AS lines FROM minute_counts WHERE minute >= $1 AND minute < $2', values: [fromMinute, toMs] });
}

/** The key of the `count`-th line after `start` in reading order within [fromMs, toMs), walking the time index only. */
export function keyAfterStatement(fromMs: number, toMs: number, start: LineKey | null, backward: boolean, count: number): Statement {
  const values = new Values();
  const where = [`ts >= ${values.add(fromMs)}`, `ts < ${values.add(toMs)}`];
  if (start) where.push(`(ts, id) ${backward ? '<' : '>'} (${values.add(start.ts)}, ${values.add(start.id)})`);
  const order = backward ? 'ORDER BY ts DESC, id DESC' : 'ORDER BY ts, id';
  return named({ text: `SELECT ts, id FROM logs WHERE ${where.join(' AND ')} ${order} LIMIT 1 OFFSET ${values.add(count - 1)}`, values: values.list });
}

/** One line by its key; its time keeps the read to its partition. */
export function lineAtStatement({ ts, id }: LineKey): Statement {
  return named({ text: `SELECT ${LINE_COLUMNS} FROM logs WHERE ts = $1 AND id = $2`, values: [ts, id] });
}
