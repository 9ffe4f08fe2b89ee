import { CONTROL_CHARACTER } from '@daylog/log-model';
import { unescapedJson } from './parsed-names';

/** A key=value pair as written, or why the text at that place is not one. */
type Pair = { key: string; value: string } | { fault: string };

/**
 * `| logfmt` on one line: each `key=value`, `key="quoted \"value\""` or bare `key` (an empty value) handed
 * to `found`, in order. Read as Loki's logfmt decoder reads: a fault skips to the next blank and reading
 * goes on, unless `strict`, where it stops. Returns the first fault, if any, as Loki reports it.
 */
export function readLogfmt(line: string, strict: boolean, found: (key: string, value: string) => void): string | undefined {
  let fault: string | undefined;
  let at = 0;
  while (at < line.length) {
    while (at < line.length && line.charCodeAt(at) <= 0x20) at++;
    if (at >= line.length) break;
    const pair = readPair(line, at);
    at = pair.end;
    if ('fault' in pair.read) {
      fault ??= pair.read.fault;
      if (strict) break;
    } else {
      found(pair.read.key, pair.read.value);
    }
  }
  return fault;
}

function blank(line: string, at: number): boolean {
  return line.charCodeAt(at) <= 0x20;
}

function faultAt(line: string, at: number, what: string): { read: Pair; end: number } {
  let end = at;
  while (end < line.length && !blank(line, end)) end++;
  return { read: { fault: `logfmt syntax error at character ${at + 1}: ${what}` }, end };
}

function readPair(line: string, start: number): { read: Pair; end: number } {
  let at = start;
  while (at < line.length && !blank(line, at) && line[at] !== '=') {
    if (line[at] === '"') return faultAt(line, at, 'unexpected "');
    at++;
  }
  const key = line.slice(start, at);
  if (line[at] !== '=') return { read: { key, value: '' }, end: at };
  if (at === start) return faultAt(line, at, 'unexpected =');
  at++;
  if (at >= line.length || blank(line, at)) return { read: { key, value: '' }, end: at };
  if (line[at] === '"') return readQuoted(line, key, at);
  const valueStart = at;
  for (; at < line.length && !blank(line, at); at++) {
    if (line[at] === '=' || line[at] === '"') return faultAt(line, at, `unexpected ${line[at]}`);
  }
  return { read: { key, value: line.slice(valueStart, at) }, end: at };
}

function readQuoted(line: string, key: string, open: number): { read: Pair; end: number } {
  let at = open + 1;
  while (at < line.length && line[at] !== '"') at += line[at] === '\\' ? 2 : 1;
  if (at >= line.length) return { read: { fault: `logfmt syntax error at character ${open + 1}: unterminated quoted value` }, end: line.length };
  const inside = line.slice(open + 1, at);
  // As Go's JSON unquoting, which Loki runs only on a value with an escape: a control character is refused there.
  const escaped = inside.includes('\\');
  const value = escaped && CONTROL_CHARACTER.test(inside) ? undefined : unescapedJson(inside);
  if (value === undefined) return { read: { fault: `logfmt syntax error at character ${open + 1}: invalid quoted value` }, end: at + 1 };
  return { read: { key, value }, end: at + 1 };
}
