import { LABEL_NAMES } from '@daylog/log-model';
import { StreamLabels, StreamRow } from './catalogue';
import { LabelPatterns } from './log-store';

function patternToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('*')
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

/** Label filters compiled once per query; each label must match one of its patterns. */
export function labelMatcher(patterns: LabelPatterns): ((stream: StreamLabels) => boolean) | null {
  const checks = LABEL_NAMES.filter((name) => (patterns[name]?.length ?? 0) > 0).map((name) => {
    const regexps = patterns[name]!.map(patternToRegExp);
    return (stream: StreamLabels) => {
      const value = stream[name];
      return value !== null && regexps.some((re) => re.test(value));
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
