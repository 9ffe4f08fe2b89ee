const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const HEX_DIGITS = '0123456789abcdef';
/** JSON's two-character escapes of control characters; any other is `\u00XX`. */
const SHORT_ESCAPES: Readonly<Record<number, number>> = { 0x08: 0x62, 0x09: 0x74, 0x0a: 0x6e, 0x0c: 0x66, 0x0d: 0x72 };

/** The most bytes writeJsonString may write for `text`: `\u00XX` for each unit, and the quotes. */
export const jsonStringBytesAtMost = (text: string): number => text.length * 6 + 2;

/** ASCII text as it is, at `at`; returns the position after it. */
export function writeAscii(buffer: Buffer, at: number, text: string): number {
  for (let i = 0; i < text.length; i++) buffer[at++] = text.charCodeAt(i);
  return at;
}

const isHighSurrogate = (unit: number) => unit >= 0xd800 && unit <= 0xdbff;
const isLowSurrogate = (unit: number) => unit >= 0xdc00 && unit <= 0xdfff;

/**
 * `text` quoted and escaped as JSON.stringify writes it, in UTF-8, at `at`, without the string
 * JSON.stringify makes; `buffer` must have jsonStringBytesAtMost(text) bytes of room there. Returns
 * the position after it. Text with a lone surrogate, which JSON.stringify escapes, goes through
 * JSON.stringify.
 */
export function writeJsonString(buffer: Buffer, at: number, text: string): number {
  const start = at;
  buffer[at++] = QUOTE;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit < 0x80) {
      if (unit === QUOTE || unit === BACKSLASH) buffer[at++] = BACKSLASH;
      buffer[at++] = unit;
    } else if (unit < 0x20) {
      buffer[at++] = BACKSLASH;
      const short = SHORT_ESCAPES[unit];
      if (short !== undefined) buffer[at++] = short;
      else at = writeAscii(buffer, at, `u00${HEX_DIGITS[unit >> 4]}${HEX_DIGITS[unit & 15]}`);
    } else if (unit < 0x800) {
      buffer[at++] = 0xc0 | (unit >> 6);
      buffer[at++] = 0x80 | (unit & 0x3f);
    } else if (isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))) {
      const codePoint = 0x10000 + ((unit - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
      buffer[at++] = 0xf0 | (codePoint >> 18);
      buffer[at++] = 0x80 | ((codePoint >> 12) & 0x3f);
      buffer[at++] = 0x80 | ((codePoint >> 6) & 0x3f);
      buffer[at++] = 0x80 | (codePoint & 0x3f);
    } else if (isHighSurrogate(unit) || isLowSurrogate(unit)) {
      return start + buffer.write(JSON.stringify(text), start);
    } else {
      buffer[at++] = 0xe0 | (unit >> 12);
      buffer[at++] = 0x80 | ((unit >> 6) & 0x3f);
      buffer[at++] = 0x80 | (unit & 0x3f);
    }
  }
  buffer[at++] = QUOTE;
  return at;
}
