import { FieldCondition, Fields, LEVELS, LogLine, MatchExpression, acceptedUserRegex, fieldEquals, requiredSubstrings, searchableFields, severityOf, textMatcher } from '@daylog/log-model';
import { labelSetMatcher } from './label-matcher';
import { LabelPatterns, LineFilter } from './log-store';
import { LineRow } from './partition-source';
import { formatOfCode } from './partitions';

/**
 * What a LineFilter means, written once: a line passes a filter when it passes each of its terms. Each
 * kind's meaning is said here; `termTest` is that meaning in JavaScript (the live tail's predicate,
 * lineMatcher, is built from it), and each engine writes it in its SQL per kind (SQLite: termClause in
 * page-statement.ts), in a switch that does not compile until it handles every kind listed here.
 */
export type FilterTerm =
  /** The line's time is in [fromMs, toMs). */
  | { kind: 'time'; fromMs: number; toMs: number }
  /**
   * The line's label set is in one of `namespaces` (when they are given: a token's scope) and, for each label
   * with patterns, its value matches one of them (`*`: any run of characters; label-matcher.ts); without
   * either, any label set. For SQL, the core resolves it to the ids of the label sets it admits (the
   * `labelSetIds` of a read; null: all), which is what an engine writes.
   */
  | { kind: 'labelSet'; labels: LabelPatterns; namespaces: readonly string[] | undefined }
  /** The line's level has one of these severities. */
  | { kind: 'severity'; severities: readonly number[] }
  /** The message holds `text`, ASCII letters compared without case and every other character as it is (as SQLite's LIKE does). */
  | { kind: 'contains'; text: string }
  /** The message does not hold `text`, compared as `contains` compares. */
  | { kind: 'excludes'; text: string }
  /** The message has every word and phrase of the expression: log-model's textMatcher, words without case or marks. */
  | { kind: 'match'; expression: MatchExpression }
  /** The regular expression, accepted at the edge (compileUserRegex), matches somewhere in the message. */
  | { kind: 'regex'; source: string }
  /**
   * The line's searchable fields (log-model's searchableFields: its fields as answered, and a JSON object message's
   * keys) hold the condition's field, its value written as text exactly the condition's (fieldEquals). Derived from the message at read
   * time, so no engine can write it in SQL from its columns alone.
   */
  | { kind: 'field'; condition: FieldCondition }
  /** The opposite of `field`: a line without the field passes. */
  | { kind: 'excludeField'; condition: FieldCondition };

/** Whether a term reads the text of lines (what a search reads lines for, beyond what indexes answer), by kind. */
const READS_TEXT: Record<FilterTerm['kind'], boolean> = {
  time: false,
  labelSet: false,
  severity: false,
  contains: true,
  excludes: true,
  match: true,
  regex: true,
  field: true,
  excludeField: true,
};

export function readsText(term: FilterTerm): boolean {
  return READS_TEXT[term.kind];
}

/** The terms of a filter, in the order engines test them: what indexes answer first, the text last. */
export function filterTerms(filter: LineFilter): FilterTerm[] {
  const terms: FilterTerm[] = [
    { kind: 'time', fromMs: filter.fromMs, toMs: filter.toMs },
    { kind: 'labelSet', labels: filter.labels, namespaces: filter.namespaces },
  ];
  if (filter.levels) terms.push({ kind: 'severity', severities: filter.levels.map(severityOf) });
  for (const text of filter.contains) terms.push({ kind: 'contains', text });
  for (const text of filter.excludes) terms.push({ kind: 'excludes', text });
  if (filter.match) terms.push({ kind: 'match', expression: filter.match });
  if (filter.regex !== undefined) terms.push({ kind: 'regex', source: filter.regex });
  for (const condition of filter.fields ?? []) terms.push({ kind: 'field', condition });
  for (const condition of filter.excludeFields ?? []) terms.push({ kind: 'excludeField', condition });
  return terms;
}

/** Whether a filter tests the text of lines. */
export function searchesText(filter: LineFilter): boolean {
  return filterTerms(filter).some(readsText);
}

// eslint-disable-next-line no-control-regex -- the ASCII range is the point
const NOT_ASCII = /[^\u0000-\u007f]/;

/** Lower-cases ASCII letters only, as SQLite's LIKE compares them. */
function asciiLower(text: string): string {
  return /[A-Z]/.test(text) ? text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()) : text;
}

/** Messages lower-cased, by line: a line published to many tails is lower-cased once, not once a tail. */
const lowered = new WeakMap<LogLine, string>();

function loweredMessage(line: LogLine): string {
  let message = lowered.get(line);
  if (message === undefined) {
    message = asciiLower(line.message);
    lowered.set(line, message);
  }
  return message;
}

/** Whether a filter has field terms: the lines it tests must carry their fields and format. */
export function testsFields(filter: LineFilter): boolean {
  return (filter.fields?.length ?? 0) + (filter.excludeFields?.length ?? 0) > 0;
}

/** Searchable fields, by line: a line tested by several field terms has them worked out once. */
const fieldsByLine = new WeakMap<LogLine, Fields | null>();

function fieldsOf(line: LogLine): Fields | null {
  let fields = fieldsByLine.get(line);
  if (fields === undefined) {
    fields = searchableFields(line);
    fieldsByLine.set(line, fields);
  }
  return fields;
}

/** A term's meaning in JavaScript, compiled once for many lines. */
export function termTest(term: FilterTerm): (line: LogLine) => boolean {
  switch (term.kind) {
    case 'time':
      return (line) => line.ts >= term.fromMs && line.ts < term.toMs;
    case 'labelSet':
      return labelSetMatcher(term.labels, term.namespaces);
    case 'severity': {
      const severities = new Set(term.severities);
      return (line) => severities.has(severityOf(line.level));
    }
    case 'contains': {
      const text = asciiLower(term.text);
      return (line) => loweredMessage(line).includes(text);
    }
    case 'excludes': {
      const text = asciiLower(term.text);
      return (line) => !loweredMessage(line).includes(text);
    }
    case 'match': {
      const matches = textMatcher(term.expression);
      return (line) => matches(line.message);
    }
    case 'regex': {
      const regex = acceptedUserRegex(term.source);
      return (line) => regex.test(line.message);
    }
    case 'field':
      return (line) => fieldEquals(fieldsOf(line), term.condition);
    case 'excludeField':
      return (line) => !fieldEquals(fieldsOf(line), term.condition);
  }
}

/** A line filter as a predicate, for lines not read through an engine's SQL (live tails): the same answers as the SQL. */
export function lineMatcher(filter: LineFilter): (line: LogLine) => boolean {
  const tests = filterTerms(filter).map(termTest);
  return (line) => {
    for (const test of tests) if (!test(line)) return false;
    return true;
  };
}

/**
 * A filter's terms beyond time and label set (which an engine reading rows in JavaScript tests from its own
 * keys and label-set ids) as a predicate on a stored row: its severity, then its text and fields as termTest
 * means them, on the line as the SQL functions see it (the fields it was sent with, and its format).
 */
export function rowMatcher(filter: LineFilter): (row: LineRow) => boolean {
  const terms = filterTerms(filter).filter((term) => term.kind !== 'time' && term.kind !== 'labelSet');
  const severityTerms = terms.flatMap((term) => (term.kind === 'severity' ? [new Set(term.severities)] : []));
  const textTests = terms.filter((term) => term.kind !== 'severity').map(termTest);
  const withFields = testsFields(filter);
  return (row) => {
    for (const severities of severityTerms) if (!severities.has(row.severity)) return false;
    if (textTests.length === 0) return true;
    const line: LogLine = {
      ts: row.ts,
      level: LEVELS[row.severity],
      namespace: null,
      pod: '',
      container: null,
      source: null,
      message: row.message,
      fields: withFields && row.fields !== null ? (JSON.parse(row.fields) as Fields) : null,
      format: formatOfCode(row.format),
    };
    for (const test of textTests) if (!test(line)) return false;
    return true;
  };
}

/**
 * A necessary condition of a filter's text terms on many messages read at once: the texts, lower-cased as the terms
 * compare them, that a text holding any line that passes must hold (its substrings, the texts every match of its
 * regex holds, and its ASCII words when the text is all ASCII). Empty when the filter has no such term.
 */
export interface JoinedTextTest {
  /** Every text the test looks for, lower-cased (a caller may look in less than the whole text when none of them can span a cut). */
  needles: string[];
  /** False when no message within `joined` (messages or pieces of them, joined) can pass; true says nothing. */
  holds(joined: string, ascii: boolean): boolean;
}

export function joinedTextTest(filter: LineFilter): JoinedTextTest {
  const substrings = [...filter.contains, ...(filter.regex === undefined ? [] : requiredSubstrings(filter.regex))].map(asciiLower);
  const words = filter.match ? [...new Set(filter.match.terms.flatMap((term) => (term.kind === 'word' ? [term.token] : term.tokens)))].filter((token) => /^[a-z0-9]+$/.test(token)) : [];
  // In ASCII text, a case-insensitive regex of an ASCII needle compares as LIKE and the matcher do (non-ASCII never
  // folds to ASCII in a regex without the u flag), without lower-casing the text first.
  const asciiNeedle = (needle: string) => (NOT_ASCII.test(needle) ? null : new RegExp(needle.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'), 'i'));
  const substringPatterns = substrings.map(asciiNeedle);
  const wordPatterns = words.map(asciiNeedle);
  return {
    needles: [...substrings, ...words],
    holds: (joined, ascii) => {
      if (ascii) return substringPatterns.every((pattern) => pattern?.test(joined) ?? false) && wordPatterns.every((pattern) => pattern!.test(joined));
      if (substrings.length === 0) return true;
      const lowered = asciiLower(joined);
      return substrings.every((text) => lowered.includes(text));
    },
  };
}
