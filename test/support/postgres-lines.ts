import { ClientBase } from 'pg';
import { LogLine, severityOf } from '@daylog/log-model';
import { FORMAT_CODES, MINUTE_MS } from '@daylog/storage';
import { ensurePartition, storedMessage } from '@daylog/storage-postgres';

/**
 * Stores lines as the schema's comments say the writer does, with plain SQL, for tests of the reads: the
 * partitions they need made first, then one transaction (one ingest commit) with their label sets (missing labels
 * as ''), the lines (a message with NUL whole in message_with_nul), one per-minute count row per minute, label set
 * and level, and the commit's row. Returns the lines' ids, in the order of `lines`.
 */
export async function storeLines(client: ClientBase, partitionMs: number, lines: readonly LogLine[]): Promise<number[]> {
  if (lines.length === 0) return [];
  for (const ts of new Set(lines.map((line) => line.ts - (line.ts % partitionMs)))) await ensurePartition(client, partitionMs, ts);
  await client.query('BEGIN');
  try {
    const labelSetIds = await labelSetIdsOf(client, lines);
    const times = lines.map((line) => line.ts);
    const [{ id: commitId }] = (
      await client.query<{ id: number }>('INSERT INTO ingest_commits (committed_ms, min_ts, max_ts, lines) VALUES ($1, $2, $3, $4) RETURNING id', [
        Math.max(...times),
        Math.min(...times),
        Math.max(...times),
        lines.length,
      ])
    ).rows;
    const { rows: drawn } = await client.query<{ id: number }>("SELECT nextval('line_ids') AS id FROM generate_series(1, $1)", [lines.length]);
    // bigint comes back as a string from a plain client.
    const ids = drawn.map((row) => Number(row.id));
    const messages = lines.map((line) => storedMessage(line.message));
    await client.query(
      `INSERT INTO logs (ts, id, commit_id, stream_id, level, format, message, fields, message_with_nul)
       SELECT ts, id, $3, stream_id, level, format, message, fields, message_with_nul
         FROM unnest($1::bigint[], $2::bigint[], $4::integer[], $5::smallint[], $6::smallint[], $7::text[], $8::text[], $9::bytea[])
           AS line(ts, id, stream_id, level, format, message, fields, message_with_nul)`,
      [
        times,
        ids,
        commitId,
        labelSetIds,
        lines.map((line) => severityOf(line.level)),
        lines.map((line) => (line.format === null ? null : FORMAT_CODES[line.format])),
        messages.map((message) => message.message),
        lines.map((line) => (line.fields === null ? null : JSON.stringify(line.fields))),
        messages.map((message) => message.messageWithNul),
      ],
    );
    await appendMinuteCounts(client, lines, labelSetIds);
    await client.query('COMMIT');
    return ids;
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

async function labelSetIdsOf(client: ClientBase, lines: readonly LogLine[]): Promise<number[]> {
  const labels = lines.map((line) => [line.namespace ?? '', line.pod, line.container ?? '', line.source ?? ''] as const);
  const column = (i: number) => labels.map((set) => set[i]);
  const columns = [column(0), column(1), column(2), column(3)];
  await client.query(
    `INSERT INTO streams (namespace, pod, container, source)
     SELECT DISTINCT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) ON CONFLICT DO NOTHING`,
    columns,
  );
  const { rows } = await client.query<{ id: number; namespace: string; pod: string; container: string; source: string }>(
    `SELECT id, namespace, pod, container, source FROM streams
      WHERE (namespace, pod, container, source) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]))`,
    columns,
  );
  const idOf = new Map(rows.map((row) => [JSON.stringify([row.namespace, row.pod, row.container, row.source]), row.id]));
  return labels.map((set) => idOf.get(JSON.stringify(set))!);
}

async function appendMinuteCounts(client: ClientBase, lines: readonly LogLine[], labelSetIds: number[]): Promise<void> {
  const counts = new Map<string, { minute: number; labelSetId: number; level: number; lines: number; lastTs: number }>();
  lines.forEach((line, i) => {
    const minute = line.ts - (line.ts % MINUTE_MS);
    const key = `${minute}:${labelSetIds[i]}:${line.level}`;
    const count = counts.get(key) ?? { minute, labelSetId: labelSetIds[i], level: severityOf(line.level), lines: 0, lastTs: line.ts };
    count.lines++;
    count.lastTs = Math.max(count.lastTs, line.ts);
    counts.set(key, count);
  });
  const rows = [...counts.values()];
  await client.query(
    `INSERT INTO minute_counts (minute, last_ts, stream_id, lines, level)
     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::integer[], $4::integer[], $5::smallint[])`,
    [rows.map((row) => row.minute), rows.map((row) => row.lastTs), rows.map((row) => row.labelSetId), rows.map((row) => row.lines), rows.map((row) => row.level)],
  );
}
