import { LogLine, escapeForTerminal, formatTimestamp } from '@daylog/log-model';
import { CursorCodec, StoredLogLine } from '@daylog/storage';

export interface WireLine {
  ts: string;
  level: string;
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
  message: string;
  fields?: LogLine['fields'];
  format?: LogLine['format'];
  /** This line's handle, for GET /api/v1/logs/context. */
  cursor: string;
}

/** `cursor`: the line's own, from CursorCodec.encodeLine or, for a page of lines, toWireLines. */
export function toWireLine(line: StoredLogLine, cursor: string): WireLine {
  const wire: Omit<WireLine, 'cursor'> & { cursor?: string } = {
    ts: formatTimestamp(line.ts),
    level: line.level,
    namespace: line.namespace,
    pod: line.pod,
    container: line.container,
    source: line.source,
    message: line.message,
  };
  // Keys added one by one, in the order answers show them: a spread costs Node 20's V8 far more a line.
  if (line.fields) wire.fields = line.fields;
  if (line.format) wire.format = line.format;
  wire.cursor = cursor;
  return wire as WireLine;
}

/** The lines with their cursors, signed together: one by one they would cost more than reading them. */
export function toWireLines(lines: readonly StoredLogLine[], cursors: CursorCodec): WireLine[] {
  const lineCursors = cursors.encodeLines(lines.map((line) => line.position));
  return lines.map((line, i) => toWireLine(line, lineCursors[i]));
}

/** How a text answer shows what was stored: escaped for a terminal, or as stored for a reader who asked for it raw. */
export type ShowStored = (text: string) => string;

export const asStored: ShowStored = (text) => text;

export function showStored(raw: boolean): ShowStored {
  return raw ? asStored : escapeForTerminal;
}

/**
 * `2026-11-24T10:00:00.123Z ERROR default/webserver/nginx message`. Escaped, a line can neither steer the
 * reader's terminal nor become two lines.
 */
export function toTextLine(line: LogLine, show: ShowStored): string {
  const labels = `${line.namespace ?? '-'}/${line.pod}/${line.container ?? '-'}`;
  return `${formatTimestamp(line.ts)} ${line.level.toUpperCase()} ${show(labels)} ${show(line.message)}\n`;
}

export function toNdjsonLine(line: StoredLogLine, cursor: string): string {
  return `${JSON.stringify(toWireLine(line, cursor))}\n`;
}

export function toNdjsonLines(lines: readonly StoredLogLine[], cursors: CursorCodec): string {
  return toWireLines(lines, cursors)
    .map((line) => `${JSON.stringify(line)}\n`)
    .join('');
}

/** A text line of a context answer: the line asked about is marked `>`, as `grep -C` output marks its hits. */
export function toContextTextLine(line: LogLine, isTheLine: boolean, show: ShowStored): string {
  return `${isTheLine ? '>' : ' '} ${toTextLine(line, show)}`;
}

