import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ClientBase } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { LogLine } from '@daylog/log-model';
import { copyRows, copyStatement } from '@daylog/storage-postgres';
import { nowMs } from './bench-support';

/** Rows per COPY: POSTGRES.md measured 10k-row text COPY fastest of what node-postgres does simply. */
export const COPY_ROWS = 10_000;

export interface CopyResult {
  ms: number;
  copies: number;
}

/**
 * The ceiling for ingest on PostgreSQL: the lines COPYed (text format, the rows as the engine writes them) into
 * `logs` in batches of COPY_ROWS, each COPY its own transaction (committed when the server acknowledges it),
 * stream ids from a Map; ids from the table's default. Timed from the first row encoded to the last COPY
 * acknowledged.
 */
export async function copyLines(client: ClientBase, lines: readonly LogLine[], streamIdOf: (line: LogLine) => number): Promise<CopyResult> {
  const started = nowMs();
  const statement = copyStatement(false);
  let copies = 0;
  for (let start = 0; start < lines.length; start += COPY_ROWS) {
    const commitId = ++copies;
    const rows = lines.slice(start, start + COPY_ROWS).map((line) => ({ line, labelSetId: streamIdOf(line) }));
    await pipeline(Readable.from([copyRows(rows, commitId)]), client.query(copyFrom(statement)));
  }
  return { ms: nowMs() - started, copies };
}
