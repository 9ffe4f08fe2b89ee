import { setImmediate as nextTurn } from 'node:timers/promises';
import { LABEL_NAMES, compileGlob } from '@daylog/log-model';
import { LabelSet, StoredLabelSet } from './label-sets';
import { LabelPatterns, QueryBudgetExceeded, QueryCancelled, ScanBudget } from './log-store';

/**
 * Label values whose answer a matcher remembers: a tail sees the same few pods over and over. Few, for
 * every open tail has its matcher: a thousand values a label is some tens of kilobytes a tail at most.
 */
const REMEMBERED_VALUES = 1024;

/**
 * Label filters compiled once per query; each label must match one of its patterns. A value's answer
 * is remembered, so that patterns are tried once per distinct value, not once per label set or line.
 */
export function labelMatcher(patterns: LabelPatterns): ((labelSet: LabelSet) => boolean) | null {
  const checks = LABEL_NAMES.filter((name) => (patterns[name]?.length ?? 0) > 0).map((name) => {
    const alternatives = [...new Set(patterns[name])].map(compileGlob);
    const answers = new Map<string, boolean>();
    return (labelSet: LabelSet) => {
      const value = labelSet[name];
      if (value === null) return false;
      let answer = answers.get(value);
      if (answer === undefined) {
        answer = alternatives.some((matches) => matches(value));
        if (answers.size >= REMEMBERED_VALUES) answers.clear();
        answers.set(value, answer);
      }
      return answer;
    };
  });
  if (checks.length === 0) return null;
  return (labelSet) => checks.every((check) => check(labelSet));
}

/** Whether a label set is in one of the namespaces a filter may see; null: it may see them all. */
function namespaceMatcher(namespaces: readonly string[] | undefined): ((labelSet: LabelSet) => boolean) | null {
  if (!namespaces) return null;
  const allowed = new Set(namespaces);
  return (labelSet) => labelSet.namespace !== null && allowed.has(labelSet.namespace);
}

/** Whether a label set is one a filter reaches: in the namespaces it may see (all when undefined), its patterns matched. */
export function labelSetMatcher(patterns: LabelPatterns, namespaces: readonly string[] | undefined): (labelSet: LabelSet) => boolean {
  const inNamespaces = namespaceMatcher(namespaces);
  const matches = labelMatcher(patterns);
  if (inNamespaces && matches) return (labelSet) => inNamespaces(labelSet) && matches(labelSet);
  return inNamespaces ?? matches ?? (() => true);
}

/** How long pattern matching holds the event loop before it lets other requests run. */
const SLICE_MS = 5;
/** Label sets examined between two looks at the time: a few hundred microseconds at most, with long patterns. */
const LABEL_SETS_PER_CLOCK_READ = 16;

/**
 * The label sets a filter reaches, among those of the namespaces it may see (all of them when
 * `namespaces` is undefined): other namespaces' label sets are never compared with its patterns.
 * Many patterns against many label sets take turns with other requests, within the search's budget
 * (QueryBudgetExceeded past its time). Null: every label set.
 */
export async function matchingLabelSetIds(
  labelSets: Iterable<StoredLabelSet>,
  patterns: LabelPatterns,
  budget: ScanBudget,
  namespaces?: readonly string[],
): Promise<number[] | null> {
  const matches = labelMatcher(patterns);
  const inNamespaces = namespaceMatcher(namespaces);
  if (!matches && !inNamespaces) return null;
  const ids: number[] = [];
  let examined = 0;
  let sliceEnd = performance.now() + SLICE_MS;
  for (const labelSet of labelSets) {
    if (inNamespaces && !inNamespaces(labelSet)) continue;
    if (matches && ++examined % LABEL_SETS_PER_CLOCK_READ === 0 && performance.now() > sliceEnd) {
      await nextTurn();
      if (budget.signal?.aborted) throw new QueryCancelled();
      if (budget.now() > budget.deadlineMs) throw new QueryBudgetExceeded('time', budget);
      sliceEnd = performance.now() + SLICE_MS;
    }
    if (!matches || matches(labelSet)) ids.push(labelSet.id);
  }
  return ids;
}
