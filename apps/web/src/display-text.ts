/**
 * A log line as the page shows it: always text, never markup. Escape sequences are taken out (ansi.ts keeps the
 * colours of SGR ones), and characters that reorder or hide text (bidi overrides and isolates, other controls) are
 * shown as visible marks, for CSS isolation alone still shows overridden text reversed.
 */
// eslint-disable-next-line no-control-regex -- finding escape sequences is the point
export const ESCAPES = /\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])/g;
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const HIDDEN = /[\u0000-\u0008\u000b-\u001f\u007f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Hidden and reordering characters as visible `⟨U+XXXX⟩` marks. */
export function showHidden(text: string): string {
  return text.replace(HIDDEN, (char) => `⟨U+${char.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}⟩`);
}

export function displayText(message: string): string {
  return showHidden(message.replace(ESCAPES, ''));
}
