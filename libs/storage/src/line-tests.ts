import { LogLine } from '@daylog/log-model';
import { lineMatcher } from './filter-terms';
import { LineFilter } from './log-store';
import { sharedClockNow } from './shared-clock';
import { LinesTest } from './storage-backend';

/** Lines to test against a filter, as a pool's thread is sent them (testLinesUntil answers it). */
export interface LineTestWork {
  type: 'test-lines';
  filter: LineFilter;
  lines: LogLine[];
  /** Stop once this many lines have matched; null: test them all. */
  enough: number | null;
}

/** The clock is read after this many lines tested, or sooner after this many characters. */
const LINES_PER_CLOCK_READ = 64;
const CHARACTERS_PER_CLOCK_READ = 65_536;

/** Filters in use, by their JSON: a live tail's is tested on every batch. */
const filters = new Map<string, (line: LogLine) => boolean>();
const FILTERS_KEPT = 32;

function matcherOf(filter: LineFilter): (line: LogLine) => boolean {
  const key = JSON.stringify(filter);
  let matcher = filters.get(key);
  if (!matcher) {
    if (filters.size >= FILTERS_KEPT) filters.clear();
    matcher = lineMatcher(filter);
    filters.set(key, matcher);
  }
  return matcher;
}

/**
 * On a pool's thread: tests lines in order until the deadline (sharedClockNow's clock; null: none) passes, or
 * until enough have matched: which match, of how many tested.
 */
export function testLinesUntil({ filter, lines, enough }: LineTestWork, deadline: number | null): LinesTest {
  const matches = matcherOf(filter);
  const passed = new Uint8Array(lines.length);
  const until = deadline ?? Infinity;
  let characters = 0;
  let found = 0;
  for (let i = 0; i < lines.length; i++) {
    characters += lines[i].message.length;
    if ((i % LINES_PER_CLOCK_READ === 0 || characters >= CHARACTERS_PER_CLOCK_READ) && sharedClockNow() > until) {
      return { matches: passed, tested: i };
    }
    if (characters >= CHARACTERS_PER_CLOCK_READ) characters = 0;
    if (!matches(lines[i])) continue;
    passed[i] = 1;
    if (++found === enough) return { matches: passed, tested: i + 1 };
  }
  return { matches: passed, tested: lines.length };
}
