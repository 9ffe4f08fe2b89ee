import Database from 'better-sqlite3';
import { PartitionBounds } from '@daylog/storage';

/**
 * Partitions whose key lookup stays open (three descriptors each): a day of 15-minute partitions. An older
 * one is opened for each group of keyed batches (~0.4 ms), so that a day of one-minute partitions does not
 * keep thousands of files open; it makes each such group ~0.5 s slower instead.
 */
const OPEN_LOOKUPS = 96;
/** A lookup reads one path down an index: SQLite need only cache its upper pages, the OS keeps the rest. */
const LOOKUP_CACHE_PAGES = 32;

interface KeyLookup {
  db: Database.Database;
  find: Database.Statement<[string], number>;
}

/**
 * Finds idempotency keys in the partitions' `batch_keys` tables, where each is committed with its batch's
 * newest lines; none is held in memory. A cache would not spare a lookup of a fresh key, the common case,
 * which is looked for in every partition whatever a cache holds; a resent key is found in the newest first.
 */
export class StoredKeys {
  private readonly lookups = new Map<number, KeyLookup>();

  /** `fileOf`: the file that holds a partition's lines now (its generation's). */
  constructor(private readonly fileOf: (partition: PartitionBounds) => string) {}

  /** Those of `keys` held by one of the `live` partitions. */
  find(keys: readonly string[], live: readonly PartitionBounds[]): Set<string> {
    const found = new Set<string>();
    if (keys.length === 0) return found;
    let missing = [...new Set(keys)];
    const newestFirst = [...live].sort((a, b) => b.startMs - a.startMs);
    for (const [rank, partition] of newestFirst.entries()) {
      if (missing.length === 0) break;
      const kept = rank < OPEN_LOOKUPS;
      const lookup = this.lookups.get(partition.startMs) ?? this.open(partition, kept);
      missing = missing.filter((key) => {
        if (lookup.find.get(key) === undefined) return true;
        found.add(key);
        return false;
      });
      if (!kept) lookup.db.close();
    }
    const newest = new Set(newestFirst.slice(0, OPEN_LOOKUPS).map((p) => p.startMs));
    this.forget([...this.lookups.keys()].filter((start) => !newest.has(start)));
    return found;
  }

  /** Lets go of the partitions' files: they are being dropped, or are no longer among the newest. */
  forget(partitionStarts: readonly number[]): void {
    for (const start of partitionStarts) {
      this.lookups.get(start)?.db.close();
      this.lookups.delete(start);
    }
  }

  close(): void {
    this.forget([...this.lookups.keys()]);
  }

  private open(partition: PartitionBounds, kept: boolean): KeyLookup {
    const db = new Database(this.fileOf(partition), { fileMustExist: true });
    db.pragma('query_only = ON');
    db.pragma(`cache_size = ${LOOKUP_CACHE_PAGES}`);
    const lookup = { db, find: db.prepare<[string], number>('SELECT 1 FROM batch_keys WHERE idempotency_key = ?').pluck() };
    if (kept) this.lookups.set(partition.startMs, lookup);
    return lookup;
  }
}
