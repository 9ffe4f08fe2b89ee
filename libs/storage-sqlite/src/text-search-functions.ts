import Database from 'better-sqlite3';
import { Fields, acceptedUserRegex, fieldEquals, parseMatchExpression, searchableFields, textMatcher } from '@daylog/log-model';
import { QueryBudgetExceeded, ScanBudget, formatOfCode } from '@daylog/storage';

const CACHED = 32;
/**
 * The clock is read once per this many calls, or sooner once this many characters have been tested:
 * reading it per line would cost more than most regexes, but a regex over long lines can take
 * milliseconds a line.
 */
const CALLS_PER_CLOCK_READ = 256;
const CHARACTERS_PER_CLOCK_READ = 65_536;

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

/** A row's columns a field filter reads, and the searchable fields they give. */
interface RowFields {
  message: string;
  sent: string | null;
  format: number | null;
  fields: Fields | null;
}

/**
 * The SQL functions text search uses on read connections: word and phrase match, a regex, and a field's value.
 * They stop the statement once its time runs out, for a slow regex can take long over even a few lines.
 */
export class TextSearchFunctions {
  private readonly matchers = new Map<string, (message: string) => boolean>();
  private readonly regexes = new Map<string, RegExp>();
  private budget: ScanBudget | null = null;
  private calls = 0;
  private characters = 0;
  /** The last row's fields: a filter of several field terms tests each row with each, one after the other. */
  private lastRow: RowFields | null = null;

  /** The budget whose deadline the next statements keep to; null: none. */
  limitTime(budget: ScanBudget | null): void {
    this.budget = budget;
    this.calls = 0;
    this.characters = 0;
  }

  private checkTime(message: string): void {
    if (!this.budget) return;
    this.characters += message.length;
    if (++this.calls < CALLS_PER_CLOCK_READ && this.characters < CHARACTERS_PER_CLOCK_READ) return;
    this.calls = 0;
    this.characters = 0;
    if (this.budget.now() > this.budget.deadlineMs) throw new QueryBudgetExceeded('time', this.budget);
  }

  register(db: Database.Database): void {
    db.function('daylog_match', { deterministic: true }, (message: unknown, expression: unknown) => {
      this.checkTime(message as string);
      const matches = cached(this.matchers, expression as string, () => {
        const parsed = parseMatchExpression(expression as string);
        if (typeof parsed === 'string') throw new Error(parsed);
        return textMatcher(parsed);
      });
      return matches(message as string) ? 1 : 0;
    });
    db.function('daylog_regexp', { deterministic: true }, (message: unknown, pattern: unknown) => {
      this.checkTime(message as string);
      const regex = cached(this.regexes, pattern as string, () => acceptedUserRegex(pattern as string));
      return regex.test(message as string) ? 1 : 0;
    });
    db.function('daylog_field', { deterministic: true }, (message: unknown, sent: unknown, format: unknown, name: unknown, value: unknown) => {
      this.checkTime(message as string);
      const fields = this.rowFields(message as string, sent as string | null, format as number | null);
      return fieldEquals(fields, { name: name as string, value: value as string }) ? 1 : 0;
    });
  }

  /** A row's searchable fields, as the line read from it has them (storedLogLine). */
  private rowFields(message: string, sent: string | null, format: number | null): Fields | null {
    const last = this.lastRow;
    if (last && last.format === format && last.sent === sent && last.message === message) return last.fields;
    const fields = searchableFields({ message, fields: sent === null ? null : (JSON.parse(sent) as Fields), format: formatOfCode(format) });
    this.lastRow = { message, sent, format, fields };
    return fields;
  }
}
