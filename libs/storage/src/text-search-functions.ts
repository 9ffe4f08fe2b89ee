import Database from 'better-sqlite3';
import { parseMatchExpression, textMatcher } from '@daylog/log-model';
import { QueryBudgetExceeded, ScanBudget } from './log-store';

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

/**
 * The SQL functions text search uses on read connections: word and phrase match, and a regex. Both
 * stop the statement once its time runs out, for a slow regex can take long over even a few lines.
 */
export class TextSearchFunctions {
  private readonly matchers = new Map<string, (message: string) => boolean>();
  private readonly regexes = new Map<string, RegExp>();
  private budget: ScanBudget | null = null;
  private calls = 0;

  /** The budget whose deadline the next statements keep to; null: none. */
  limitTime(budget: ScanBudget | null): void {
    this.budget = budget;
    this.calls = 0;
  }

  private checkTime(): void {
    if (this.budget && ++this.calls % CALLS_PER_CLOCK_READ === 0 && this.budget.now() > this.budget.deadlineMs) {
      throw new QueryBudgetExceeded('time', this.budget);
    }
  }

  register(db: Database.Database): void {
    db.function('daylog_match', { deterministic: true }, (message: unknown, expression: unknown) => {
      this.checkTime();
      const matches = cached(this.matchers, expression as string, () => {
        const parsed = parseMatchExpression(expression as string);
        if (typeof parsed === 'string') throw new Error(parsed);
        return textMatcher(parsed);
      });
      return matches(message as string) ? 1 : 0;
    });
    db.function('daylog_regexp', { deterministic: true }, (message: unknown, pattern: unknown) => {
      this.checkTime();
      const regex = cached(this.regexes, pattern as string, () => new RegExp(pattern as string));
      return regex.test(message as string) ? 1 : 0;
    });
  }
}
