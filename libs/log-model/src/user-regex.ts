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
