import { Line } from './api';

/**
 * A line's fields as the page shows them, each with what `field` and `exclude_field` compare: the fields the API
 * gives with the line (sent, or read from its format), then a JSON message's top-level keys with a plain value
 * (the API's field filters read them too); the line's own fields first where both name one.
 */
export function fieldsToShow(line: Line): [name: string, value: string][] {
  const shown = new Map<string, string>();
  for (const [name, value] of Object.entries(line.fields ?? {})) shown.set(name, String(value));
  for (const [name, value] of Object.entries(jsonObject(line.message))) {
    if (!shown.has(name) && ['string', 'number', 'boolean'].includes(typeof value)) shown.set(name, String(value));
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
