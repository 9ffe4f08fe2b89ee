import { LogLine, formatTimestamp } from '@daylog/log-model';
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

export function toWireLine(line: StoredLogLine, cursors: CursorCodec): WireLine {
  return {
    ts: formatTimestamp(line.ts),
    level: line.level,
    namespace: line.namespace,
    pod: line.pod,
    container: line.container,
    source: line.source,
    message: line.message,
    ...(line.fields && { fields: line.fields }),
    ...(line.format && { format: line.format }),
    cursor: cursors.encodeLine(line.position),
  };
}

/** `2026-11-24T10:00:00.123Z ERROR default/webserver/nginx message`; a message's own newlines are escaped so one line stays one line. */
export function toTextLine(line: LogLine): string {
  const labels = `${line.namespace ?? '-'}/${line.pod}/${line.container ?? '-'}`;
  const message = line.message.replace(/\r?\n/g, '\\n');
  return `${formatTimestamp(line.ts)} ${line.level.toUpperCase()} ${labels} ${message}\n`;
}

export function toNdjsonLine(line: StoredLogLine, cursors: CursorCodec): string {
  return `${JSON.stringify(toWireLine(line, cursors))}\n`;
}

/** A text line of a context answer: the line asked about is marked `>`, as `grep -C` output marks its hits. */
export function toContextTextLine(line: LogLine, isTheLine: boolean): string {
  return `${isTheLine ? '>' : ' '} ${toTextLine(line)}`;
}

