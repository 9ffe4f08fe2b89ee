/**
 * Characters a terminal obeys rather than shows: C0 controls but tab, DEL and the C1 controls (ESC
 * sequences recolour, retitle or clear the screen, CR and backspace overwrite, U+009B alone starts a
 * control sequence on some terminals), Unicode's bidirectional marks, embeddings, overrides and
 * isolates (they reorder what is shown: "Trojan Source") and the line and paragraph separators.
 *
 * Tab stays: it only moves forward, and stack traces read better with it. A backslash stays too: a
 * message holding the four characters `\x1b` then reads like an escaped ESC, but both are inert, and
 * Windows paths and regular expressions stay as written.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const OBEYED_BY_TERMINALS = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const SHORT_FORMS = new Map([
  ['\n', '\\n'],
  ['\r', '\\r'],
]);

function escapeCharacter(character: string): string {
  const code = character.charCodeAt(0);
  const short = SHORT_FORMS.get(character);
  if (short) return short;
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** Stored text as a terminal may print it: `\n`, `\r`, `\x1b`, `\u009b`, `\u202e` for what it would obey. */
export function escapeForTerminal(text: string): string {
  return text.replace(OBEYED_BY_TERMINALS, escapeCharacter);
}
