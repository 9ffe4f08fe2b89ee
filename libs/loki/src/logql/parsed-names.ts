/** Labels a line cannot set through a parser: the pipeline's own report of what went wrong with it. */
export const ERROR_LABEL = '__error__';
export const ERROR_DETAILS_LABEL = '__error_details__';

/**
 * A key of the line as a label name, as Loki makes it: trimmed, `_` before a leading digit, every
 * character outside [a-zA-Z0-9_] (a code point, not a UTF-16 unit) as `_`. `continues` is a name being
 * built (json's nested keys), which never takes the leading `_`.
 */
export function sanitizedName(key: string, continues = ''): string {
  const trimmed = key.trim();
  let name = continues.length === 0 && /^[0-9]/.test(trimmed) ? '_' : '';
  for (const char of trimmed) name += /[a-zA-Z0-9_]/.test(char) ? char : '_';
  return name;
}

/**
 * Reads the escapes of a JSON string's inside (also those of logfmt's quoted values, which Loki reads
 * as Go reads JSON): undefined when one is not valid.
 */
export function unescapedJson(inside: string): string | undefined {
  if (!inside.includes('\\')) return inside;
  let valid = true;
  const text = inside.replace(/\\(u[0-9a-fA-F]{4}|.|$)/gs, (_, escape: string) => {
    if (escape.length === 5) return String.fromCharCode(parseInt(escape.slice(1), 16));
    const known = JSON_ESCAPES[escape];
    if (known === undefined) valid = false;
    return known ?? '';
  });
  return valid ? text : undefined;
}

const JSON_ESCAPES: Readonly<Record<string, string>> = { '"': '"', '\\': '\\', '/': '/', "'": "'", b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
