import { LABEL_NAMES } from '@daylog/log-model';
import { StreamLabels, StreamRow } from './catalogue';
import { LabelPatterns } from './log-store';

/**
 * Whether text matches a pattern where `*` stands for any run of characters, in at most
 * pattern × text steps (a two-pointer walk that returns only to the last star): a regular
 * expression built from `*a*a*a*b` backtracks exponentially on a long label and stalls the server.
 */
export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Label filters compiled once per query; each label must match one of its patterns. */
export function labelMatcher(patterns: LabelPatterns): ((stream: StreamLabels) => boolean) | null {
  const checks = LABEL_NAMES.filter((name) => (patterns[name]?.length ?? 0) > 0).map((name) => {
    const alternatives = patterns[name]!;
    return (stream: StreamLabels) => {
      const value = stream[name];
      return value !== null && alternatives.some((pattern) => globMatches(pattern, value));
    };
  });
  if (checks.length === 0) return null;
  return (stream) => checks.every((check) => check(stream));
}

export function matchingStreamIds(streams: Iterable<StreamRow>, patterns: LabelPatterns): number[] | null {
  const matches = labelMatcher(patterns);
  if (!matches) return null;
  const ids: number[] = [];
  for (const stream of streams) if (matches(stream)) ids.push(stream.id);
  return ids;
}
