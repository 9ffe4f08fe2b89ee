import { LogLine, MatchExpression, acceptedUserRegex, severityOf, textMatcher } from '@daylog/log-model';
import { labelSetMatcher } from './label-matcher';
import { LabelPatterns, LineFilter } from './log-store';

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
  | { kind: 'regex'; source: string };

/** Whether a term reads the text of lines (what a search reads lines for, beyond what indexes answer), by kind. */
const READS_TEXT: Record<FilterTerm['kind'], boolean> = {
  time: false,
  labelSet: false,
  severity: false,
  contains: true,
  excludes: true,
  match: true,
  regex: true,
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
  return terms;
}

/** Whether a filter tests the text of lines. */
export function searchesText(filter: LineFilter): boolean {
  return filterTerms(filter).some(readsText);
}

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
