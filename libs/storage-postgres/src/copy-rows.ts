import { LogLine, severityOf } from '@daylog/log-model';
import { FORMAT_CODES } from '@daylog/storage';
import { storedMessage } from './line-rows';

const COLUMNS = 'ts, commit_id, stream_id, level, format, message, fields, message_with_nul';

/** COPY of lines whose ids the table's default gives, or, when `withIds`, ids given first on each row. */
export function copyStatement(withIds: boolean): string {
  return `COPY logs (${withIds ? 'id, ' : ''}${COLUMNS}) FROM STDIN`;
}

/** A line to copy: its label set's id, and its id when ids are given. */
export interface LineToCopy {
  line: LogLine;
  labelSetId: number;
  id?: number;
}

const NULL = '\\N';
const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format: backslashes, tabs and line ends escaped; anything else is taken as it is. */
function copyText(value: string): string {
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : value;
}

/** The rows of one COPY (copyStatement's columns) in one buffer: the server takes one large write fastest. */
export function copyRows(lines: readonly LineToCopy[], commitId: number): Buffer {
  let rows = '';
  for (const { line, labelSetId, id } of lines) {
    const { message, messageWithNul } = storedMessage(line.message);
    const format = line.format === null ? NULL : FORMAT_CODES[line.format];
    const fields = line.fields ? copyText(JSON.stringify(line.fields)) : NULL;
    const whole = messageWithNul === null ? NULL : `\\\\x${messageWithNul.toString('hex')}`;
    const leading = id === undefined ? '' : `${id}\t`;
    rows += `${leading}${line.ts}\t${commitId}\t${labelSetId}\t${severityOf(line.level)}\t${format}\t${copyText(message)}\t${fields}\t${whole}\n`;
  }
  return Buffer.from(rows, 'utf8');
}
