import { LogLine, acceptedUserRegex, severityOf, textMatcher } from '@daylog/log-model';
import { labelMatcher } from './label-matcher';
import { LineFilter } from './log-store';

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

/** Whether a filter tests the text of lines: what a search reads lines for, beyond what indexes answer. */
export function searchesText(filter: LineFilter): boolean {
  return filter.contains.length > 0 || filter.excludes.length > 0 || filter.match !== undefined || filter.regex !== undefined;
}

/** A line filter as a predicate, for lines that are not read from SQLite (live tails); the same answers as the SQL. */
export function lineMatcher(filter: LineFilter): (line: LogLine) => boolean {
  const labels = labelMatcher(filter.labels);
  const severities = filter.levels && new Set(filter.levels.map(severityOf));
  const contains = filter.contains.map(asciiLower);
  const excludes = filter.excludes.map(asciiLower);
  const matchesWords = filter.match ? textMatcher(filter.match) : null;
  const regex = filter.regex === undefined ? null : acceptedUserRegex(filter.regex);
  const testsText = searchesText(filter);
  const namespaces = filter.namespaces && new Set(filter.namespaces);
  return (line) => {
    if (line.ts < filter.fromMs || line.ts >= filter.toMs) return false;
    if (namespaces && (line.namespace === null || !namespaces.has(line.namespace))) return false;
    if (severities && !severities.has(severityOf(line.level))) return false;
    if (labels && !labels(line)) return false;
    if (!testsText) return true;
    const message = loweredMessage(line);
    if (!contains.every((text) => message.includes(text)) || excludes.some((text) => message.includes(text))) return false;
    return (!matchesWords || matchesWords(line.message)) && (!regex || regex.test(line.message));
  };
}
