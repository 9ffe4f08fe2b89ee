/**
 * Counts taken on a request body's text before it is parsed: what parsing costs, in time and memory, grows
 * with lines and objects rather than bytes, so a body within the byte limit can still hold millions of them.
 * Each count stops once it is past its limit.
 */

const NEWLINE = '\n';
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;

function occurrencesUpTo(text: string, character: string, max: number): number {
  let count = 0;
  for (let at = text.indexOf(character); at !== -1 && count <= max; at = text.indexOf(character, at + 1)) count++;
  return count;
}

/**
 * A text's lines, blank ones included (a final newline ends a line, it starts none), counted up to `max` + 1:
 * more than `max` is all a count past the limit says.
 */
export function linesUpTo(text: string, max: number): number {
  const endsOpen = text.length > 0 && !text.endsWith(NEWLINE);
  return Math.min(occurrencesUpTo(text, NEWLINE, max) + (endsOpen ? 1 : 0), max + 1);
}

/** Whether a text holds more than `max` lines. */
export function linesAbove(text: string, max: number): boolean {
  return linesUpTo(text, max) > max;
}

/**
 * Whether a JSON text, or NDJSON, holds more than `max` objects and arrays. Every `{` and `[` is counted first,
 * which is quick (a search for one character) and can only count too many; only when that count is past
 * the limit are the brackets inside strings told apart, which reads the text a character at a time.
 */
export function jsonObjectsAbove(text: string, max: number): boolean {
  if (occurrencesUpTo(text, '{', max) + occurrencesUpTo(text, '[', max) <= max) return false;
  return objectsOutsideStrings(text, max) > max;
}

function objectsOutsideStrings(text: string, max: number): number {
  let count = 0;
  let lineEnd = -1;
  for (let i = 0; i < text.length && count <= max; i++) {
    const code = text.charCodeAt(i);
    if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      count++;
    } else if (code === QUOTE) {
      if (lineEnd < i) lineEnd = lineEndFrom(text, i);
      i = stringEnd(text, i, lineEnd);
    }
  }
  return count;
}

function lineEndFrom(text: string, from: number): number {
  const newline = text.indexOf(NEWLINE, from);
  return newline === -1 ? text.length : newline;
}

/** Where the string opened at `open` ends: its closing quote, or the end of its line, which no JSON string crosses. */
function stringEnd(text: string, open: number, lineEnd: number): number {
  let quote = text.indexOf('"', open + 1);
  while (quote !== -1 && quote < lineEnd && escaped(text, quote)) quote = text.indexOf('"', quote + 1);
  return quote === -1 || quote > lineEnd ? lineEnd : quote;
}

function escaped(text: string, at: number): boolean {
  let backslashes = 0;
  while (text.charCodeAt(at - 1 - backslashes) === BACKSLASH) backslashes++;
  return backslashes % 2 === 1;
}
