import { Level, MessageFormat, inMessageFormat, leadingLevel, normalizeLevel } from '@daylog/log-model';
import { LEVEL_KEYS, jsonLevelKey } from '../line-parsers';

/**
 * What a container's line says of itself: a level, or a format the aggregator reads (nginx's),
 * from which it takes the level and fields as it does for the sidecar's nginx files.
 */
export type MessageShape = { level: Level } | { format: MessageFormat };

const KLOG_LEVELS: Readonly<Record<string, Level>> = { I: 'info', W: 'warn', E: 'error', F: 'fatal' };
// `E1204 10:00:00.000000   12 file.go:42] …`: severity, month, day, then the time to the microsecond.
const KLOG_HEADER = /^([IWEF])(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]) \d{2}:\d{2}:\d{2}\.\d{6} /;
// A logfmt line starts with a key; only then is a `level=` in it the line's (not words in a sentence).
const LOGFMT_START = /^[\w.-]+=/;
const LOGFMT_LEVEL = new RegExp(`(?:^|\\s)(?:${LEVEL_KEYS.join('|')})=("?)([A-Za-z]+)\\1(?=\\s|$)`);

function jsonLevel(text: string): Level | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const key = jsonLevelKey(record);
  return key === undefined ? undefined : normalizeLevel(record[key] as string);
}

function logfmtLevel(text: string): Level | undefined {
  if (!LOGFMT_START.test(text)) return undefined;
  const level = LOGFMT_LEVEL.exec(text);
  return level ? normalizeLevel(level[2]) : undefined;
}

/**
 * A JSON object's `level`/`severity` (the message stays the whole object: the aggregator already
 * makes its top-level keys fields, and the line reads as `kubectl logs` shows it), an nginx access
 * or error line, klog's `E1204 …`, logfmt's `level=warn`, a leading `ERROR`/`WARN` word; else info.
 */
export function messageShape(text: string): MessageShape {
  if (text.trimStart().startsWith('{')) return { level: jsonLevel(text) ?? 'info' };
  if (inMessageFormat('nginx-access', text)) return { format: 'nginx-access' };
  if (inMessageFormat('nginx-error', text)) return { format: 'nginx-error' };
  const klog = KLOG_HEADER.exec(text);
  if (klog) return { level: KLOG_LEVELS[klog[1]] };
  return { level: logfmtLevel(text) ?? leadingLevel(text) ?? 'info' };
}
