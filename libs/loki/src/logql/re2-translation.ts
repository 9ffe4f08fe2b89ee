import { ClassPart, caseVariants, classText, escapedInClass } from './re2-classes';

/** Why a LogQL regex is refused, as the sentence the caller sends in its 400. */
export class RegexRefused extends Error {}

export interface Re2Mode {
  /** (?i): V8's linear-time engine has no `i` flag, so every letter becomes the class of its cases. */
  caseless: boolean;
  /** (?s), or a whole-value match: `.` matches newlines (the `s` flag is set); otherwise RE2's `.` is anything but \n. */
  dotAll: boolean;
}

/** RE2's \s: JavaScript's also takes \v and Unicode spaces. */
const RE2_SPACE = '\\t\\n\\f\\r ';

/** Escapes RE2 has and JavaScript would read as something else (or as a plain letter): refused, saying what to write. */
const REFUSED_ESCAPES: Readonly<Record<string, string>> = {
  A: 'regex \\A is not supported: use ^',
  z: 'regex \\z is not supported: use $',
  Q: 'regex \\Q…\\E is not supported: escape each special character with \\ instead',
  E: 'regex \\Q…\\E is not supported: escape each special character with \\ instead',
  C: 'regex \\C (any byte) is not supported: use .',
  p: 'regex Unicode classes (\\pL, \\p{Greek}) are not supported: list the characters in [...]',
  P: 'regex Unicode classes (\\PL, \\P{Greek}) are not supported: list the characters in [^...]',
};

const BACKREFERENCE = 'regex backreferences (\\1, \\k<name>) are not part of LogQL: match the text itself';
const LOOKAROUND = 'regex lookahead and lookbehind ((?=, (?!, (?<=, (?<!) are not part of LogQL';
const LATE_FLAGS = 'regex flags such as (?i) must come at the very start: (?i:…) groups and flags later on are not supported';
const POSIX_CLASS = /^\[:\^?[a-z]+:\]/;

/** One character of the pattern (a code point) or a class escape (\d, \w, \s and their negations). */
type ClassItem = { code: number } | { escape: string };

/**
 * Rewrites an RE2 expression (without its leading flags) as JavaScript source with the same meaning,
 * for a RegExp without the `u` flag (which the linear-time engine does not run). Throws RegexRefused.
 */
export function translateRe2(source: string, mode: Re2Mode): string {
  const reader = { source, at: 0 };
  let out = '';
  while (reader.at < source.length) {
    const c = source[reader.at];
    if (c === '\\') {
      const item = readEscape(reader, false);
      out += 'code' in item ? literal(item.code, mode) : item.escape;
    } else if (c === '[') {
      out += readClass(reader, mode);
    } else if (c === '(' && source[reader.at + 1] === '?') {
      out += readGroupOpening(reader);
    } else if (c === '.') {
      out += mode.dotAll ? '.' : '[^\\n]';
      reader.at++;
    } else if (/[a-zA-Z]/.test(c) || !/[ -~]/.test(c)) {
      // Letters (for their cases), control characters and what is beyond ASCII (one code point, not two halves).
      const code = source.codePointAt(reader.at) ?? 0;
      out += literal(code, mode);
      reader.at += code > 0xffff ? 2 : 1;
    } else {
      out += c;
      reader.at++;
    }
  }
  return out;
}

interface Reader {
  source: string;
  at: number;
}

/** A character that means itself: its cases when caseless, escaped when it could be read as syntax. */
function literal(code: number, mode: Re2Mode): string {
  const variants = mode.caseless ? caseVariants(code) : [code];
  if (variants.length > 1) return `[${variants.map(escapedInClass).join('')}]`;
  if (code > 0xffff) return `(?:${String.fromCodePoint(code)})`;
  const char = String.fromCharCode(code);
  if (/[a-zA-Z0-9 ]/.test(char)) return char;
  return /[!-~]/.test(char) ? `\\${char}` : escapedInClass(code);
}

function readGroupOpening(reader: Reader): string {
  const rest = reader.source.slice(reader.at);
  const named = /^\(\?P?<([A-Za-z_][A-Za-z0-9_]*)>/.exec(rest);
  if (named) {
    reader.at += named[0].length;
    return `(?<${named[1]}>`;
  }
  if (rest.startsWith('(?:')) {
    reader.at += 3;
    return '(?:';
  }
  if (/^\(\?(=|!|<=|<!)/.test(rest)) throw new RegexRefused(LOOKAROUND);
  if (rest.startsWith('(?P=')) throw new RegexRefused(BACKREFERENCE);
  if (/^\(\?-?[a-zA-Z]/.test(rest)) throw new RegexRefused(LATE_FLAGS);
  throw new RegexRefused(`regex group ${rest.slice(0, 4)} is not valid: write (?:…) or (?P<name>…)`);
}

/** After a backslash: a character, or a class escape. RE2 refuses escapes it does not know, and so does this. */
function readEscape(reader: Reader, inClass: boolean): ClassItem {
  const c = reader.source[reader.at + 1];
  reader.at += 2;
  if (c === undefined) throw new RegexRefused('regex ends with a lone \\: write \\\\ for a backslash');
  if ('dDwW'.includes(c)) return { escape: `\\${c}` };
  if (c === 's') return { escape: inClass ? RE2_SPACE : `[${RE2_SPACE}]` };
  if (c === 'S') return { escape: inClass ? '\\S' : `[^${RE2_SPACE}]` };
  if ((c === 'b' || c === 'B') && !inClass) return { escape: `\\${c}` };
  const control = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 }[c];
  if (control !== undefined) return { code: control };
  if (c === 'x') return { code: readHex(reader) };
  if (/[0-7]/.test(c)) return { code: readOctal(reader, c) };
  if (c === '8' || c === '9' || c === 'k') throw new RegexRefused(BACKREFERENCE);
  const refused = REFUSED_ESCAPES[c];
  if (refused) throw new RegexRefused(refused);
  if (/[a-zA-Z]/.test(c)) throw new RegexRefused(`regex escape \\${c} is not part of RE2's syntax`);
  const code = reader.source.codePointAt(reader.at - 1) ?? 0;
  if (code > 0xffff) reader.at++;
  return { code };
}

/** \xHH or \x{H…}. */
function readHex(reader: Reader): number {
  const found = /^(?:\{([0-9a-fA-F]{1,6})\}|([0-9a-fA-F]{2}))/.exec(reader.source.slice(reader.at));
  const code = found ? parseInt(found[1] ?? found[2], 16) : NaN;
  if (!found || code > 0x10ffff) throw new RegexRefused('regex \\x must be followed by two hex digits or {hex digits}');
  reader.at += found[0].length;
  return code;
}

/** RE2's octal: \0 to \0NN, or \NNN; a single non-zero digit would be a backreference, which RE2 refuses. */
function readOctal(reader: Reader, first: string): number {
  const more = /^[0-7]{0,2}/.exec(reader.source.slice(reader.at))?.[0] ?? '';
  if (first !== '0' && more.length === 0) throw new RegexRefused(BACKREFERENCE);
  reader.at += more.length;
  return parseInt(first + more, 8);
}

/** `[…]` from its opening bracket: its items, ranges and escapes, read as RE2 reads them. */
function readClass(reader: Reader, mode: Re2Mode): string {
  const source = reader.source;
  reader.at++;
  const negated = source[reader.at] === '^';
  if (negated) reader.at++;
  const items: ClassPart[] = [];
  // RE2 reads a `]` first in the class as itself; JavaScript would read `[]` as the empty class.
  let first = true;
  while (reader.at < source.length && (source[reader.at] !== ']' || first)) {
    first = false;
    if (POSIX_CLASS.test(source.slice(reader.at))) {
      throw new RegexRefused('regex POSIX classes such as [[:alpha:]] are not supported: write [a-zA-Z] (or \\d, \\w, \\s)');
    }
    const item = readClassChar(reader);
    if ('code' in item && source[reader.at] === '-' && reader.at + 1 < source.length && source[reader.at + 1] !== ']') {
      reader.at++;
      const end = readClassChar(reader);
      if (!('code' in end) || end.code < item.code) {
        throw new RegexRefused('regex has an invalid range in [...]: a range goes from a character to a later one, such as a-z');
      }
      items.push({ from: item.code, to: end.code });
    } else {
      items.push(item);
    }
  }
  if (reader.at >= source.length) throw new RegexRefused('regex has a [ without its closing ]');
  reader.at++;
  const text = classText(negated, items, mode.caseless);
  if (text === undefined) throw new RegexRefused('regex characters beyond U+FFFF (emoji) cannot be in [...]: write them outside, as alternatives');
  return text;
}

function readClassChar(reader: Reader): ClassItem {
  if (reader.source[reader.at] === '\\') return readEscape(reader, true);
  const code = reader.source.codePointAt(reader.at) ?? 0;
  reader.at += code > 0xffff ? 2 : 1;
  return { code };
}
