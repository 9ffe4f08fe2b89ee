import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LogLine, severityOf } from '@daylog/log-model';
import { FORMAT_CODES } from '@daylog/storage';
import { nowMs } from './bench-support';

/** Rows per COPY: POSTGRES.md measured 10k-row text COPY fastest of what node-postgres does simply. */
export const COPY_ROWS = 10_000;

const COPY_LOGS = 'COPY logs (ts, commit_id, stream_id, level, format, message, fields) FROM STDIN';
const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format: backslash, tab and line ends escaped (a NUL is not storable at all). */
function copyText(value: string): string {
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c]) : value;
}

function copyRow(line: LogLine, commitId: number, streamId: number): string {
  const format = line.format === null ? '\\N' : FORMAT_CODES[line.format];
  const fields = line.fields ? copyText(JSON.stringify(line.fields)) : '\\N';
  return `${line.ts}\t${commitId}\t${streamId}\t${severityOf(line.level)}\t${format}\t${copyText(line.message)}\t${fields}\n`;
}

export interface CopyResult {
  ms: number;
  copies: number;
}

/**
 * The ceiling for ingest on PostgreSQL: the lines COPYed (text format) into `logs` in batches of COPY_ROWS,
 * each COPY its own transaction (committed when the server acknowledges it), stream ids from a Map; ids from
 * the table's default. Timed from the first row encoded to the last COPY acknowledged.
 */
export async function copyLines(client: ClientBase, lines: readonly LogLine[], streamIdOf: (line: LogLine) => number): Promise<CopyResult> {
  const started = nowMs();
  let copies = 0;
  for (let start = 0; start < lines.length; start += COPY_ROWS) {
    const commitId = ++copies;
    let rows = '';
    for (let i = start; i < Math.min(start + COPY_ROWS, lines.length); i++) rows += copyRow(lines[i], commitId, streamIdOf(lines[i]));
    await pipeline(Readable.from([Buffer.from(rows)]), client.query(copyFrom(COPY_LOGS)));
  }
  return { ms: nowMs() - started, copies };
}
