import { setFlagsFromString } from 'node:v8';
import { CONTROL_CHARACTER } from './line';

/** Longer expressions make each line's test slower (linear time is line length times expression size). */
const MAX_USER_REGEX_LENGTH = 500;

/**
 * What V8's linear-time engine cannot run: said in the 400, so that a person knows what to rewrite.
 * Counted repetitions multiply when nested: (a{4}){4} is 16.
 */
const NOT_LINEAR =
  'regex uses what cannot run in linear time: backreferences (\\1, \\k<name>), lookahead and lookbehind ' +
  '((?=, (?!, (?<=, (?<!) and counted repetitions of more than 16 ({17}, {2,20}, nested counts multiplied): ' +
  'rewrite it without them (x{32} as x{16}x{16}, x{20,} as x{16}x{4,})';

let engineReady = false;

/**
 * Backtracks on one input after which a regex goes on on the linear-time engine. V8's default, 50,000,
 * costs about 0.5 ms a line before a regex such as (.|.)*\x00 changes engine; the expressions people
 * write backtrack far less on a line (measured: `.*GET.*curl.*trace` changed engine at 1,000 on an
 * 80-character line, not at 5,000).
 */
const BACKTRACKS_BEFORE_LINEAR = 5000;

/**
 * V8 reads these flags as it compiles a regex, so they are set before the first user regex. The first
 * lets a regex be checked against the linear-time engine ('l'); the others run every regex that engine
 * can run on the usual backtracking engine until it has backtracked BACKTRACKS_BEFORE_LINEAR times on one
 * input, then on the linear-time engine (for the whole process: other regexes only gain by it). The
 * linear-time engine alone would do, but it is an interpreter, 50 to 100 times slower than the
 * backtracking engine on the expressions people write, so they stay there.
 */
function enableLinearEngine(): void {
  if (engineReady) return;
  setFlagsFromString('--enable-experimental-regexp-engine');
  setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks');
  setFlagsFromString(`--regexp-backtracks-before-fallback=${BACKTRACKS_BEFORE_LINEAR}`);
  engineReady = true;
}

/** How a user regex is compiled when it is not plain JavaScript without flags. */
export interface UserRegexOptions {
  /** Of the flags the linear-time engine runs: s (dot matches newlines), m (^ and $ at line ends), g, y. */
  flags?: string;
  /**
   * What the user wrote, when `source` is a translation of it (LogQL's RE2 syntax): the length limit is
   * the user's to meet, not the translation's, which may be several times longer.
   */
  written?: string;
}

/**
 * A regular expression a user sent (JavaScript syntax, no flags unless given), compiled so that testing
 * a line takes time linear in its length, or the sentence that says why it is refused.
 */
export function compileUserRegex(source: string, options: UserRegexOptions = {}): RegExp | string {
  const written = options.written ?? source;
  const flags = options.flags ?? '';
  if (written.length === 0 || written.length > MAX_USER_REGEX_LENGTH || CONTROL_CHARACTER.test(source)) {
    return `regex must be one regular expression of at most ${MAX_USER_REGEX_LENGTH} characters`;
  }
  enableLinearEngine();
  try {
    new RegExp(source, flags);
  } catch (error) {
    return `regex is not a valid regular expression: ${(error as Error).message}`;
  }
  try {
    // 'l' exists once enableLinearEngine has run.
    new RegExp(source, `${flags}l`);
  } catch {
    return NOT_LINEAR;
  }
  return new RegExp(source, flags);
}

/** A user regex already accepted at the edge (`compileUserRegex`), compiled where lines are tested. */
export function acceptedUserRegex(source: string): RegExp {
  const compiled = compileUserRegex(source);
  if (typeof compiled === 'string') throw new Error(compiled);
  return compiled;
}

/** A run shorter than this rules out too few lines to pay for testing it on each. */
const MIN_REQUIRED_LENGTH = 3;

/** Escapes of one character that stand for a class or an assertion, not for a character. */
const CLASS_OR_ASSERTION_ESCAPES = new Set(['d', 'D', 'w', 'W', 's', 'S', 'b', 'B', 'n', 'r', 't', 'f', 'v']);
const ASCII_PUNCTUATION = /^[!-/:-@[-`{-~]$/;
const COUNTED = /^\{\d+(,\d*)?\}/;
const HIGH_SURROGATE = /[\uD800-\uDBFF]$/;

/** Where the group or class opened at `start` ends (the index after it), or -1 when it is not closed. */
function endOf(source: string, start: number): number {
  let depth = 0;
  for (let i = start; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (c === '[') {
      // In a class, `]` first (or after `^`) closes it: JavaScript's empty class.
      i++;
      if (source[i] === '^') i++;
      while (i < source.length && source[i] !== ']') i += source[i] === '\\' ? 2 : 1;
      if (i >= source.length) return -1;
      if (depth === 0) return i + 1;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  return -1;
}

/**
 * Texts that every match of a user regex (JavaScript syntax, no flags, accepted by `compileUserRegex`) holds: the
 * runs of literal characters of its top-level sequence, each of at least MIN_REQUIRED_LENGTH. A reader may test them
 * first, on many lines at once, where the regex would have to run line by line. Cautious by design: a group, a
 * class, `.`, an anchor, an escape of a class, or a quantifier ends a run (a quantified character is left out of it),
 * and an alternation at the top level, or any escape it does not know, leaves nothing required.
 */
export function requiredSubstrings(source: string): string[] {
  const runs: string[] = [];
  let run = '';
  /** Whether the last atom read was the run's last character (a quantifier after it takes it out of the run). */
  let lastIsRunCharacter = false;
  const endRun = () => {
    if (run.length >= MIN_REQUIRED_LENGTH) runs.push(run);
    run = '';
    lastIsRunCharacter = false;
  };
  /** Without the u flag a quantifier after a pair of surrogates repeats the second alone: the pair leaves the run. */
  const quantify = (after: number): number => {
    if (lastIsRunCharacter) run = run.slice(0, HIGH_SURROGATE.test(run.slice(0, -1)) ? -2 : -1);
    endRun();
    return after + (source[after] === '?' ? 1 : 0);
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const counted = c === '{' ? COUNTED.exec(source.slice(i)) : null;
    if (c === '|') return [];
    if (c === '*' || c === '+' || c === '?') {
      i = quantify(i + 1);
    } else if (counted) {
      i = quantify(i + counted[0].length);
    } else if (c === '(' || c === '[') {
      endRun();
      i = endOf(source, i);
      if (i < 0) return [];
    } else if (c === '.' || c === '^' || c === '$' || c === ')') {
      endRun();
      i++;
    } else if (c === '\\') {
      const escaped = source[i + 1] ?? '';
      if (ASCII_PUNCTUATION.test(escaped)) {
        run += escaped;
        lastIsRunCharacter = true;
      } else if (CLASS_OR_ASSERTION_ESCAPES.has(escaped)) {
        endRun();
      } else {
        return [];
      }
      i += 2;
    } else {
      run += c;
      lastIsRunCharacter = true;
      i++;
    }
  }
  endRun();
  return runs;
}
