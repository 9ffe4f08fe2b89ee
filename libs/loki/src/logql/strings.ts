/** Go's escapes in a double-quoted string, as LogQL reads them (strconv.Unquote). */
const SIMPLE_ESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', '"': '"', "'": "'" };

/** A LogQL string literal's value: `"…"` with Go's escapes, or `` `…` `` as it is; a reason when an escape is not Go's. */
export function unquote(literal: string): string | { problem: string } {
  if (literal.startsWith('`')) return literal.slice(1, -1);
  const body = literal.slice(1, -1);
  let value = '';
  for (let i = 0; i < body.length; i++) {
    const char = body[i];
    if (char !== '\\') {
      value += char;
      continue;
    }
    const kind = body[++i];
    if (kind !== undefined && Object.hasOwn(SIMPLE_ESCAPES, kind)) {
      value += SIMPLE_ESCAPES[kind];
      continue;
    }
    const digits = kind === 'x' ? 2 : kind === 'u' ? 4 : kind === 'U' ? 8 : /[0-7]/.test(kind ?? '') ? 3 : 0;
    const code = kind === 'x' || kind === 'u' || kind === 'U' ? body.slice(i + 1, i + 1 + digits) : body.slice(i, i + digits);
    const base = kind === 'x' || kind === 'u' || kind === 'U' ? 16 : 8;
    const valid = digits > 0 && code.length === digits && (base === 16 ? /^[0-9a-fA-F]+$/ : /^[0-7]+$/).test(code);
    const codePoint = valid ? parseInt(code, base) : NaN;
    if (!valid || codePoint > 0x10ffff || (codePoint >= 0xd800 && codePoint <= 0xdfff)) {
      return { problem: `${JSON.stringify(literal)} has an escape Go does not know: \\${kind ?? ''}` };
    }
    value += String.fromCodePoint(codePoint);
    i += base === 16 ? digits : digits - 1;
  }
  return value;
}
