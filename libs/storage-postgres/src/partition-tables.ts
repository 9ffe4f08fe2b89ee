import { ClientBase } from 'pg';
import { PartitionBounds, PartitionLayout } from '@daylog/storage';

/** The tables partitioned by time: a partition of each for every stretch of DAYLOG_PARTITION. */
export const PARTITIONED_TABLES = ['logs', 'minute_counts', 'batch_keys', 'ingest_commits'] as const;
export type PartitionedTable = (typeof PARTITIONED_TABLES)[number];

/**
 * `logs_20261124_100000` for the partition of `logs` starting 2026-11-24T10:00:00Z: lower case, so that it is
 * the same name quoted or not.
 */
export function partitionTable(table: PartitionedTable, startMs: number): string {
  const iso = new Date(startMs).toISOString();
  return `${table}_${iso.slice(0, 10).replace(/-/g, '')}_${iso.slice(11, 19).replace(/:/g, '')}`;
}

/** The advisory lock under which a partition is made: "daylog p" as a number, one for all of them (rare and brief). */
const MAKE_PARTITION_LOCK = 0x6461796c6f672070n;

const BOUND = /^FOR VALUES FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)$/;

/**
 * The live partitions of `logs`, oldest first, as PostgreSQL's catalog holds them (the only record: nothing
 * to keep in step). A partition whose detach was interrupted is no longer live: `dropPartitionsEndingBy`
 * finishes it.
 */
export async function livePartitions(client: ClientBase): Promise<PartitionBounds[]> {
  const { rows } = await client.query<{ name: string; bound: string }>(
    `SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
      WHERE i.inhparent = 'logs'::regclass AND NOT i.inhdetachpending`,
  );
  return rows
    .map((row) => {
      const match = BOUND.exec(row.bound);
      if (!match) throw new Error(`partition ${row.name} of logs has a bound Daylog did not make: ${row.bound}`);
      return { startMs: Number(match[1]), endMs: Number(match[2]), name: row.name };
    })
    .sort((a, b) => a.startMs - b.startMs);
}

/**
 * The partition that holds `ts`, made (for every partitioned table) when there is none: an empty table
 * like the parent, then attached, which blocks neither inserts nor queries. Replicas making the same one
 * at once take turns under an advisory lock, and those after the first find it made. Its bounds follow
 * PartitionLayout's rule, so that a changed DAYLOG_PARTITION never overlaps a partition made before.
 */
export async function ensurePartition(client: ClientBase, widthMs: number, ts: number): Promise<PartitionBounds> {
  const existing = (await livePartitions(client)).find((p) => p.startMs <= ts && ts < p.endMs);
  if (existing) return existing;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MAKE_PARTITION_LOCK.toString()]);
    const layout = new PartitionLayout(widthMs, await livePartitions(client));
    const made = layout.find(ts) ?? layout.planFor(ts);
    if (!layout.find(ts)) {
      for (const table of PARTITIONED_TABLES) {
        const partition = partitionTable(table, made.startMs);
        await client.query(`CREATE TABLE ${partition} (LIKE ${table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)`);
        await client.query(`ALTER TABLE ${table} ATTACH PARTITION ${partition} FOR VALUES FROM (${made.startMs}) TO (${made.endMs})`);
      }
    }
    await client.query('COMMIT');
    return { ...made, name: partitionTable('logs', made.startMs) };
  } catch (error) {
    await client.query('ROLLBACK');
    throw error;
  }
}

/** A table named as Daylog names partitions, of any partitioned table. */
const PARTITION_NAME = `^(${PARTITIONED_TABLES.join('|')})_[0-9]{8}_[0-9]{6}$`;

/**
 * Drops every partition ending by `cutoffMs`, of every partitioned table: DETACH … CONCURRENTLY (which lets
 * inserts and queries go on), then DROP. The partition of `logs` goes last: it is what says a range is live,
 * so a run interrupted part way finds the range again and drops what is left of it. A detach interrupted
 * earlier (the replica died between its two transactions) is finished first, and a table detached but not
 * dropped is dropped. Returns the partitions of `logs` dropped.
 */
export async function dropPartitionsEndingBy(client: ClientBase, cutoffMs: number): Promise<PartitionBounds[]> {
  const { rows: pending } = await client.query<{ parent: string; name: string }>(
    `SELECT p.relname AS parent, c.relname AS name
       FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
      WHERE i.inhdetachpending`,
  );
  for (const { parent, name } of pending) await client.query(`ALTER TABLE ${parent} DETACH PARTITION ${name} FINALIZE`);
  // A partition is made and attached in one transaction: a table of a partition's name attached to nothing is a detached one.
  const { rows: detached } = await client.query<{ name: string }>(
    `SELECT relname AS name FROM pg_class
      WHERE relkind = 'r' AND NOT relispartition AND relnamespace = to_regnamespace(current_schema()) AND relname ~ $1`,
    [PARTITION_NAME],
  );
  for (const { name } of detached) await client.query(`DROP TABLE IF EXISTS ${name}`);
  const expired = (await livePartitions(client)).filter((p) => p.endMs <= cutoffMs);
  for (const partition of expired) {
    for (const table of [...PARTITIONED_TABLES].reverse()) {
      const name = partitionTable(table, partition.startMs);
      const { rows } = await client.query<{ attached: boolean }>('SELECT relispartition AS attached FROM pg_class WHERE oid = to_regclass($1)', [name]);
      if (rows[0]?.attached) await client.query(`ALTER TABLE ${table} DETACH PARTITION ${name} CONCURRENTLY`);
      await client.query(`DROP TABLE IF EXISTS ${name}`);
    }
  }
  return expired;
}
