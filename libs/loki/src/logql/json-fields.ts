import { sanitizedName, unescapedJson } from './parsed-names';

const WHITESPACE = /[ \t\n\r]*/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const KEYWORD = /true|false|null/y;

class NotJson extends Error {}

/**
 * `| json` on one line: each string, number and boolean of the object, nested keys joined with `_`, handed
 * to `found` in the line's order with its label name (sanitised) and its text (a number as written). Like
 * Loki without parameters, arrays and nulls give no label. Returns why the line is not a JSON object, after
 * handing over what came before the fault (as Loki keeps it); what follows the object is not read.
 * Iterative, so a deeply nested line costs time, not stack.
 */
export function readJsonObject(line: string, found: (name: string, value: string) => void): string | undefined {
  let at = skipWhitespace(line, 0);
  if (line[at] !== '{') return 'the line is not a JSON object';
  const path: string[] = [];
  try {
    at = skipWhitespace(line, at + 1);
    if (line[at] === '}') return undefined;
    for (;;) {
      const key = readString(line, at);
      at = expect(line, key.end, ':');
      const value = skipWhitespace(line, at);
      const c = line[value];
      if (c === '{') {
        path.push(key.text);
        at = skipWhitespace(line, value + 1);
        if (line[at] !== '}') continue;
        path.pop();
        at++;
      } else if (c === '[') {
        at = skipArray(line, value);
      } else {
        const scalar = readScalar(line, value);
        if (scalar.text !== undefined) {
          const name = flattenedName([...path, key.text]);
          if (name.length > 0) found(name, scalar.text);
        }
        at = scalar.end;
      }
      // After a value: a comma and the next key, or the end of one or more objects.
      for (at = skipWhitespace(line, at); line[at] === '}'; at = skipWhitespace(line, at + 1)) {
        if (path.length === 0) return undefined;
        path.pop();
      }
      at = expect(line, at, ',');
    }
  } catch (error) {
    if (error instanceof NotJson) return error.message;
    throw error;
  }
}

/** Loki's names for nested keys: the parts sanitised and joined by `_`, a part of blanks left out. */
function flattenedName(parts: readonly string[]): string {
  let name = '';
  for (const part of parts) {
    if (part.trim().length === 0) continue;
    name += (name.length > 0 ? '_' : '') + sanitizedName(part, name);
  }
  return name;
}

function skipWhitespace(line: string, at: number): number {
  WHITESPACE.lastIndex = at;
  WHITESPACE.test(line);
  return WHITESPACE.lastIndex;
}

function expect(line: string, at: number, char: string): number {
  const next = skipWhitespace(line, at);
  if (line[next] !== char) throw new NotJson(fault(line, next, `${char} expected`));
  return next + 1;
}

function fault(line: string, at: number, what: string): string {
  return at >= line.length ? `the JSON object ends early: ${what}` : `invalid JSON at character ${at + 1}: ${what}`;
}

function readString(line: string, at: number): { text: string; end: number } {
  const start = skipWhitespace(line, at);
  if (line[start] !== '"') throw new NotJson(fault(line, start, 'a "string" expected'));
  let end = start + 1;
  while (end < line.length && line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
  if (end >= line.length) throw new NotJson(fault(line, end, 'a string is not closed'));
  const text = unescapedJson(line.slice(start + 1, end));
  if (text === undefined) throw new NotJson(fault(line, start, 'a string has an invalid escape'));
  return { text, end: end + 1 };
}

/** A string, number or boolean as label text; a null as no text. */
function readScalar(line: string, at: number): { text: string | undefined; end: number } {
  if (line[at] === '"') return readString(line, at);
  for (const pattern of [NUMBER, KEYWORD]) {
    pattern.lastIndex = at;
    const match = pattern.exec(line);
    if (match) return { text: match[0] === 'null' ? undefined : match[0], end: pattern.lastIndex };
  }
  throw new NotJson(fault(line, at, 'a value expected'));
}

/** Past an array, whatever it holds: brackets and braces counted, strings stepped over. */
function skipArray(line: string, at: number): number {
  let depth = 0;
  for (let i = at; i < line.length; i++) {
    const c = line[i];
    if (c === '"') {
      i = readString(line, i).end - 1;
    } else if (c === '[' || c === '{') {
      depth++;
    } else if (c === ']' || c === '}') {
      depth--;
      if (depth === 0) return i + 1;
    }
  }
  throw new NotJson(fault(line, line.length, 'an array is not closed'));
}
