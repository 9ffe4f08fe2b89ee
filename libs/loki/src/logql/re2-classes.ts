/** A `[…]` item as read from an RE2 expression: a character, a range, or a class escape already in JavaScript. */
export type ClassPart = { code: number } | { from: number; to: number } | { escape: string };

/**
 * Beyond ASCII a caseless range gains its characters' other cases one by one: up to this many characters
 * (Latin-1, Greek, Cyrillic blocks); a wider range keeps the cases it lists.
 */
const CASED_RANGE_LIMIT = 1024;

/** One UTF-16 unit, written so that no position in a class can read it as syntax. */
export function escapedInClass(code: number): string {
  const char = String.fromCharCode(code);
  return /[a-zA-Z0-9]/.test(char) ? char : `\\u${code.toString(16).padStart(4, '0')}`;
}

function oneUnit(text: string): number | undefined {
  return text.length === 1 ? text.charCodeAt(0) : undefined;
}

/** The character and its other cases (k, K and the Kelvin sign K), as RE2's (?i) matches them. */
export function caseVariants(code: number): number[] {
  const found = new Set([code]);
  if (code > 0xffff) return [code];
  for (let round = 0; round < 2; round++) {
    for (const known of [...found]) {
      const char = String.fromCharCode(known);
      for (const other of [oneUnit(char.toLowerCase()), oneUnit(char.toUpperCase())]) {
        if (other !== undefined) found.add(other);
      }
    }
  }
  return [...found];
}

/** The ranges a caseless range adds: a-z gives A-Z, and each cased character beyond ASCII its other cases. */
function otherCases(from: number, to: number): ClassPart[] {
  const parts: ClassPart[] = [];
  const shifted = (low: number, high: number, by: number) => {
    const start = Math.max(from, low);
    const end = Math.min(to, high);
    if (start <= end) parts.push({ from: start + by, to: end + by });
  };
  shifted(0x61, 0x7a, -0x20);
  shifted(0x41, 0x5a, 0x20);
  const beyondAscii = Math.max(from, 0x80);
  if (to >= beyondAscii && to - beyondAscii < CASED_RANGE_LIMIT) {
    for (let code = beyondAscii; code <= to; code++) {
      for (const variant of caseVariants(code)) if (variant < from || variant > to) parts.push({ code: variant });
    }
  }
  return parts;
}

/**
 * The JavaScript class for RE2's `[…]`. Without the `u` flag a class holds UTF-16 units, so a character
 * beyond U+FFFF (two units) cannot be one of its items: refused by the caller through `undefined`.
 */
export function classText(negated: boolean, parts: readonly ClassPart[], caseless: boolean): string | undefined {
  const all = caseless
    ? parts.flatMap((part) => ('escape' in part ? [part] : 'code' in part ? caseVariants(part.code).map((code) => ({ code })) : [part, ...otherCases(part.from, part.to)]))
    : parts;
  let text = '';
  for (const part of all) {
    if ('escape' in part) text += part.escape;
    else if ('code' in part) {
      if (part.code > 0xffff) return undefined;
      text += escapedInClass(part.code);
    } else {
      if (part.to > 0xffff) return undefined;
      text += `${escapedInClass(part.from)}-${escapedInClass(part.to)}`;
    }
  }
  return `[${negated ? '^' : ''}${text}]`;
}
