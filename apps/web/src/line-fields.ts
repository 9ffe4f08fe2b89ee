import { Line } from './api';

/**
 * A line's fields as the page shows them, each as `field` and `exclude_field` compare it (docs/API.md): the fields the
 * API gives with the line (sent, or read from its format), then a JSON object message's top-level keys with a
 * string, boolean or finite number value; the line's own fields win where both name one. The page reads the API
 * alone, so it follows the contract rather than the server's code; its test offers every field shown as a filter.
 */
export function fieldsToShow(line: Line): [name: string, value: string][] {
  const shown = new Map<string, string>();
  for (const [name, value] of Object.entries(line.fields ?? {})) shown.set(name, String(value));
  for (const [name, value] of Object.entries(jsonObject(line.message))) {
    const plain = typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
    if (plain && !shown.has(name)) shown.set(name, String(value));
  }
  return [...shown];
}

function jsonObject(message: string): Record<string, unknown> {
  if (!message.trimStart().startsWith('{')) return {};
  try {
    const parsed: unknown = JSON.parse(message);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
