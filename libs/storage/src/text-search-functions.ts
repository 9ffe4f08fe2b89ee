import Database from 'better-sqlite3';
import { parseMatchExpression, textMatcher } from '@daylog/log-model';
import { QueryBudgetExceeded } from './log-store';

/** How long one query may spend on regular expressions. */
export const REGEX_BUDGET_MS = 5000;
const CACHED = 32;
/** The clock is read once per this many calls: reading it per line would cost more than most regexes. */
const CALLS_PER_CLOCK_READ = 256;

/** A small cache, oldest use first out. */
function cached<T>(cache: Map<string, T>, key: string, make: () => T): T {
  let value = cache.get(key);
  if (value === undefined) {
    value = make();
    if (cache.size >= CACHED) cache.delete(cache.keys().next().value!);
  } else {
    cache.delete(key);
  }
  cache.set(key, value);
  return value;
}

/** The SQL functions text search uses on read connections: word and phrase match, and a regex under a time budget. */
export class TextSearchFunctions {
  private readonly matchers = new Map<string, (message: string) => boolean>();
  private readonly regexes = new Map<string, RegExp>();
  private deadline = 0;
  private budgetMs = REGEX_BUDGET_MS;
  private calls = 0;

  startQuery(budgetMs = REGEX_BUDGET_MS): void {
    this.budgetMs = budgetMs;
    this.deadline = Date.now() + budgetMs;
    this.calls = 0;
  }

  register(db: Database.Database): void {
    db.function('daylog_match', { deterministic: true }, (message: unknown, expression: unknown) => {
      const matches = cached(this.matchers, expression as string, () => {
        const parsed = parseMatchExpression(expression as string);
        if (typeof parsed === 'string') throw new Error(parsed);
        return textMatcher(parsed);
      });
      return matches(message as string) ? 1 : 0;
    });
    db.function('daylog_regexp', { deterministic: true }, (message: unknown, pattern: unknown) => {
      if (++this.calls % CALLS_PER_CLOCK_READ === 0 && Date.now() > this.deadline) throw new QueryBudgetExceeded(this.budgetMs);
      const regex = cached(this.regexes, pattern as string, () => new RegExp(pattern as string));
      return regex.test(message as string) ? 1 : 0;
    });
  }
}
