import { LogLine, formatTimestamp } from '@daylog/log-model';

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
}

export function toWireLine(line: LogLine): WireLine {
  const wire: WireLine = {
    ts: formatTimestamp(line.ts),
    level: line.level,
    namespace: line.namespace,
    pod: line.pod,
    container: line.container,
    source: line.source,
    message: line.message,
  };
  if (line.fields) wire.fields = line.fields;
  if (line.format) wire.format = line.format;
  return wire;
}

/** `2026-11-24T10:00:00.123Z ERROR default/webserver/nginx message`; a message's own newlines are escaped so one line stays one line. */
export function toTextLine(line: LogLine): string {
  const labels = `${line.namespace ?? '-'}/${line.pod}/${line.container ?? '-'}`;
  const message = line.message.replace(/\r?\n/g, '\\n');
  return `${formatTimestamp(line.ts)} ${line.level.toUpperCase()} ${labels} ${message}\n`;
}

export function toNdjsonLine(line: LogLine): string {
  return `${JSON.stringify(toWireLine(line))}\n`;
}
