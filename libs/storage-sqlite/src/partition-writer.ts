import Database from 'better-sqlite3';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { LogLine, severityOf } from '@daylog/log-model';
import { AppendBatch, AppendResult, CursorPosition, FORMAT_CODES, MINUTE_MS, MinuteCounts, PartitionBounds, PartitionLayout, keyFilings } from '@daylog/storage';
import { CatalogueStatements, StoredPartition } from './catalogue';
import { PartitionCompaction } from './compaction';
import { LabelSetRegistry } from './label-set-registry';
import { StoredKeys } from './stored-keys';
import { PARTITION_FILE, Synchronous, openDatabase, partitionFile, dataDirBytes, partitionFiles, partitionSchema, upgradePartition } from './partition-schema';
import { makeFilesPrivate, makePrivateDir } from './private-files';
import { HAS_WORD_INDEX, WORD_INDEX_STATE, indexLines, registerWordFunction, wordIndexSchema } from './word-index';

export interface WriterOptions {
  dataDir: string;
  partitionMs: number;
  synchronous: Synchronous;
  /** Whether partitions get a full-text index once a newer partition is being written. */
  fullText: boolean;
  /** Whether closed partitions are rewritten into compressed blocks (compaction.ts). */
  compression: boolean;
  /** The data directory's size past which writes fail as on a full disk (SQLITE_FULL); null: the disk's own. */
  maxDiskBytes: number | null;
  /** Label sets a namespace may have in the live partitions; lines that would make one more are refused. */
  maxLabelSetsPerNamespace: number;
}

export interface WriterDropResult {
  droppedPartitions: string[];
  droppedLines: number;
  removedLabelSets: number[];
  /** Files to delete: the caller unlinks them off the writer's critical path. */
  filesToRemove: string[];
}

interface OpenPartition {
  bounds: PartitionBounds;
  db: Database.Database;
  insertLine: Database.Statement<[number, number, number, string, string | null, number | null]>;
  insertSeen: Database.Statement<[number]>;
  insertKey: Database.Statement<[string]>;
  countLines: Database.Statement<[number, number, number, number, number]>;
}

interface PendingWrite {
  bounds: PartitionBounds;
  lines: LogLine[];
  /** Each line's label set, as LabelSetRegistry.admit named it. */
  labelSets: string[];
  /** Idempotency keys to store here, each with the batch (by index in the group) it belongs to. */
  keys: { key: string; batch: number }[];
  /** Where to record each line's position, for batches that asked for them. */
  positionsOut: ((CursorPosition | undefined)[] | null)[];
  lineIndexes: number[];
  /** The batches (by index in the group) with lines or a key here: they fail if this commit does. */
  batches: Set<number>;
}

/** A batch of a group that could not be stored whole: the error of the commit that failed. */
export interface AppendFailure {
  failure: { message: string; code?: string };
}

/** The word index is built while the data directory is below this share of DAYLOG_MAX_DISK: the rest is kept for lines. */
const INDEXING_DISK_SHARE = 0.9;

/** Partitions a writer keeps open: the current one and a few that late lines still reach. */
const OPEN_PARTITIONS = 4;

/**
 * A partition is compacted once lines this much past its end have been written (at most its own width): lines
 * that arrive later are still stored and found, beside its blocks, but uncompressed.
 */
const COMPACTION_GRACE_MS = 2 * MINUTE_MS;
/** ...and once nothing has been written to it for this long: a sender catching up on it is not raced. */
const COMPACTION_QUIET_MS = 1000;

export const CATALOGUE_FILE = 'catalogue.db';
const CATALOGUE_WAL_BYTES = 1024 ** 2;

/** The largest line id a partition has given: a compacted one's last may be in a block, and is its line table's sequence. */
function lastLineId(db: Database.Database, table: string): number {
  const rows = (db.prepare(`SELECT max(id) FROM "${table}"`).pluck().get() as number | null) ?? 0;
  const hasSequence = db.prepare(`SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'`).pluck().get() as number;
  if (!hasSequence) return rows;
  const sequence = (db.prepare('SELECT seq FROM sqlite_sequence WHERE name = ?').pluck().get(table) as number | undefined) ?? 0;
  return Math.max(rows, sequence);
}

/**
 * Lets a partition grow by at most `room` bytes in its next transactions; past that SQLite fails
 * the write with SQLITE_FULL, as it would on a full disk, and rolls it back.
 */
function limitGrowth(db: Database.Database, room: number): void {
  if (room === Infinity) return;
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  const pages = db.pragma('page_count', { simple: true }) as number;
  db.pragma(`max_page_count = ${pages + Math.max(0, Math.floor(room / pageSize))}`);
}

/**
 * The only writer of Daylog's data. It runs on its own thread (writer.worker.ts) so that parsing
 * requests and committing batches overlap; every method here is synchronous.
 */
export class PartitionWriter {
  private readonly catalogue: CatalogueStatements;
  private readonly partitions: PartitionLayout;
  private readonly open = new Map<number, OpenPartition>();
  private readonly labelSets: LabelSetRegistry;
  private readonly labelSetsSeen = new Map<number, Set<number>>();
  private readonly storedKeys: StoredKeys;
  /** By partition start: the largest line id written, and the largest the full-text index holds. */
  private readonly lastIds = new Map<number, number>();
  private readonly indexedUpTo = new Map<number, number>();
  /** By partition start: the generation of the file holding its lines (0 until compacted), and when it was last written. */
  private readonly generations = new Map<number, number>();
  private readonly lastWrittenAt = new Map<number, number>();
  /** The newest line time written: a partition ending well before it is closed. */
  private latestTs = 0;
  private compaction: PartitionCompaction | null = null;
  private prunedBefore = 0;

  constructor(private readonly options: WriterOptions) {
    makePrivateDir(join(options.dataDir, 'partitions'));
    const catalogue = openDatabase(join(options.dataDir, CATALOGUE_FILE), options.synchronous);
    // Checkpointed each MiB and cut back to that: new label sets must not grow the directory for the life of the process.
    catalogue.pragma(`wal_autocheckpoint = ${CATALOGUE_WAL_BYTES / (catalogue.pragma('page_size', { simple: true }) as number)}`);
    catalogue.pragma(`journal_size_limit = ${CATALOGUE_WAL_BYTES}`);
    this.catalogue = new CatalogueStatements(catalogue);
    const listed = this.reconcileFiles();
    for (const partition of listed) this.generations.set(partition.startMs, partition.generation);
    this.partitions = new PartitionLayout(options.partitionMs, listed);
    this.storedKeys = new StoredKeys((partition) => this.fileOf(partition));
    this.labelSets = new LabelSetRegistry(this.catalogue, options.maxLabelSetsPerNamespace);
    for (const bounds of this.partitions.all()) this.loadPartitionState(bounds);
  }

  /**
   * Commits a group of batches, one transaction per partition they reach. A partition whose commit
   * fails (a full disk) fails the batches with lines in it; the others are answered as stored.
   */
  append(batches: readonly AppendBatch[]): (AppendResult | AppendFailure)[] {
    const results = batches.map((batch): AppendResult => ({
      duplicate: false,
      accepted: 0,
      expired: [],
      tooManyLabelSets: [],
      ...(batch.wantPositions && { positions: [] }),
    }));
    const writes = new Map<number, PendingWrite>();
    const keysInGroup = new Set<string>();
    const storedKeys = this.storedKeys.find(
      batches.flatMap((batch) => batch.idempotencyKey ?? []),
      this.partitions.all(),
    );

    batches.forEach((batch, b) => {
      const key = batch.idempotencyKey;
      if (key !== null && (storedKeys.has(key) || keysInGroup.has(key))) {
        results[b].duplicate = true;
        return;
      }
      let newest: PendingWrite | undefined;
      batch.lines.forEach((line, index) => {
        const bounds = this.partitionFor(line.ts);
        if (!bounds) {
          results[b].expired.push(index);
          return;
        }
        const labelSet = this.labelSets.admit(line);
        if (labelSet === null) {
          results[b].tooManyLabelSets.push(index);
          return;
        }
        let write = writes.get(bounds.startMs);
        if (!write) writes.set(bounds.startMs, (write = this.pendingWrite(bounds)));
        write.batches.add(b);
        write.lines.push(line);
        write.labelSets.push(labelSet);
        write.positionsOut.push(results[b].positions ?? null);
        write.lineIndexes.push(index);
        results[b].accepted++;
        if (!newest || bounds.startMs > newest.bounds.startMs) newest = write;
      });
      // Filed where keyFilings says. Partitions commit oldest first, so the key commits after the batch's older
      // lines: a crash between the two leaves a batch that a resend completes rather than one it duplicates.
      if (key !== null && newest) {
        keysInGroup.add(key);
        const arrival = this.partitionFor(batch.receivedMs);
        for (const { partition } of keyFilings({ partition: newest.bounds }, arrival && { partition: arrival })) {
          let write = writes.get(partition.startMs);
          if (!write) writes.set(partition.startMs, (write = this.pendingWrite(partition)));
          write.keys.push({ key, batch: b });
          write.batches.add(b);
        }
      }
    });

    this.labelSets.commitAdmitted();
    const room = this.roomLeft();
    const failures = new Map<number, AppendFailure>();
    for (const write of [...writes.values()].sort((a, b) => a.bounds.startMs - b.bounds.startMs)) {
      try {
        this.commit(write, room, failures);
      } catch (error) {
        const { message, code } = error as { message: string; code?: string };
        for (const b of write.batches) failures.set(b, { failure: { message, code } });
      }
    }
    return results.map((result, b) => failures.get(b) ?? result);
  }

  private pendingWrite(bounds: PartitionBounds): PendingWrite {
    return { bounds, lines: [], labelSets: [], keys: [], positionsOut: [], lineIndexes: [], batches: new Set() };
  }

  /**
   * Adds up to `maxLines` lines to the full-text index of a partition that is no longer the newest
   * (the newest is scanned when searched, and indexing it would slow every insert); the newest
   * such partition first. Returns whether lines are left to index.
   */
  indexSome(maxLines: number): boolean {
    // Compressed hours index their blocks; an index of lines built for the minutes before an hour is compressed
    // would be thrown away with its old file.
    if (!this.options.fullText || this.options.compression) return false;
    const room = this.roomLeft();
    if (this.options.maxDiskBytes !== null && room < (1 - INDEXING_DISK_SHARE) * this.options.maxDiskBytes) return false;
    const all = this.partitions.all();
    const newest = Math.max(...all.map((p) => p.startMs));
    const behind = all.filter(
      (p) => p.startMs !== newest && this.generationOf(p) === 0 && (this.lastIds.get(p.startMs) ?? 0) > (this.indexedUpTo.get(p.startMs) ?? 0),
    );
    const bounds = behind.sort((a, b) => b.startMs - a.startMs)[0];
    if (!bounds) return false;
    const { db } = this.openPartition(bounds);
    limitGrowth(db, room);
    const from = this.indexedUpTo.get(bounds.startMs) ?? 0;
    const upTo = db.transaction(() => {
      db.exec(wordIndexSchema(bounds.name));
      const last = db
        .prepare(`SELECT max(id) FROM (SELECT id FROM "${bounds.name}" WHERE id > ? ORDER BY id LIMIT ?)`)
        .pluck()
        .get(from, maxLines) as number;
      indexLines(db, bounds.name, from, last);
      return last;
    })();
    this.indexedUpTo.set(bounds.startMs, upTo);
    return behind.length > 1 || upTo < (this.lastIds.get(bounds.startMs) ?? 0);
  }

  /**
   * Writes up to `maxBlocks` blocks of the closed partition being compacted (one is chosen when none is), and
   * swaps the partition to its compacted file once all are written. Returns whether work is left, and the files
   * a swap left behind, for the caller to remove off the writer's critical path.
   */
  compactSome(maxBlocks: number): { more: boolean; filesToRemove: string[] } {
    if (!this.options.compression) return { more: false, filesToRemove: [] };
    this.compaction ??= this.startCompaction();
    const compaction = this.compaction;
    if (!compaction) return { more: false, filesToRemove: [] };
    try {
      for (let i = 0; i < maxBlocks; i++) if (!compaction.step()) return { more: true, filesToRemove: this.swapIn(compaction) };
    } catch (error) {
      compaction.abort();
      this.compaction = null;
      throw error;
    }
    return { more: true, filesToRemove: [] };
  }

  /** Whether a closed partition waits to be compacted until it has had no write for a while. */
  awaitsCompaction(): boolean {
    return this.options.compression && this.partitions.all().some((p) => this.isClosed(p));
  }

  private isClosed(partition: PartitionBounds): boolean {
    return this.generationOf(partition) === 0 && this.latestTs >= partition.endMs + Math.min(COMPACTION_GRACE_MS, this.options.partitionMs);
  }

  /** The oldest closed partition not yet compacted: lines well past its end written, and none to it lately. */
  private startCompaction(): PartitionCompaction | null {
    const now = Date.now();
    const closed = this.partitions.all().find((p) => this.isClosed(p) && now - (this.lastWrittenAt.get(p.startMs) ?? 0) >= COMPACTION_QUIET_MS);
    if (!closed) return null;
    const room = this.roomLeft();
    // The rewrite needs room for its new file beside the old until the swap: a full disk keeps the old.
    if (this.options.maxDiskBytes !== null && room < (1 - INDEXING_DISK_SHARE) * this.options.maxDiskBytes) return null;
    return new PartitionCompaction(this.options.dataDir, { ...closed, generation: 0 }, this.options.fullText);
  }

  /**
   * The swap: the compacted file gets the lines written since the rewrite began, then the catalogue names it, in
   * one commit; from then on reads and late lines go to it. The old file is the caller's to remove.
   */
  private swapIn(compaction: PartitionCompaction): string[] {
    const { partition, generation } = compaction;
    this.compaction = null;
    this.closePartition(partition.startMs, false);
    this.storedKeys.forget([partition.startMs]);
    compaction.finish();
    this.catalogue.setGeneration(partition.startMs, generation);
    this.generations.set(partition.startMs, generation);
    this.indexedUpTo.delete(partition.startMs);
    return partitionFiles(this.options.dataDir, partition.name, 0);
  }

  dropBefore(cutoffMs: number): WriterDropResult {
    this.prunedBefore = Math.max(this.prunedBefore, cutoffMs);
    const expired = this.partitions.removeEndingBy(cutoffMs);
    if (expired.length === 0) return { droppedPartitions: [], droppedLines: 0, removedLabelSets: [], filesToRemove: [] };

    if (this.compaction && expired.some((p) => p.startMs === this.compaction!.partition.startMs)) {
      this.compaction.abort();
      this.compaction = null;
    }
    let droppedLines = 0;
    for (const bounds of expired) droppedLines += this.lineCount(bounds);
    this.catalogue.removePartitions(expired);
    this.storedKeys.forget(expired.map((p) => p.startMs));
    for (const bounds of expired) {
      this.closePartition(bounds.startMs, false);
      this.labelSetsSeen.delete(bounds.startMs);
      this.lastIds.delete(bounds.startMs);
      this.indexedUpTo.delete(bounds.startMs);
      this.lastWrittenAt.delete(bounds.startMs);
    }

    return {
      droppedPartitions: expired.map((p) => p.name),
      droppedLines,
      removedLabelSets: this.labelSets.forgetUnused(this.usedLabelSets()),
      filesToRemove: expired.flatMap((p) => {
        const files = partitionFiles(this.options.dataDir, p.name, this.generationOf(p));
        this.generations.delete(p.startMs);
        return files;
      }),
    };
  }

  close(): void {
    this.compaction?.abort();
    this.compaction = null;
    this.storedKeys.close();
    for (const start of [...this.open.keys()]) this.closePartition(start, true);
    this.catalogue.db.close();
  }

  /** The live partition for ts, made if missing; undefined when ts falls in a pruned range. */
  private partitionFor(ts: number): PartitionBounds | undefined {
    const existing = this.partitions.find(ts);
    if (existing) return existing;
    const planned = this.partitions.planFor(ts);
    if (planned.endMs <= this.prunedBefore) return undefined;
    this.openPartition(planned);
    this.catalogue.addPartition(planned, Date.now());
    this.partitions.add(planned);
    this.labelSetsSeen.set(planned.startMs, new Set());
    return planned;
  }

  /** Bytes the data directory may still grow by under DAYLOG_MAX_DISK. */
  private roomLeft(): number {
    return this.options.maxDiskBytes === null ? Infinity : this.options.maxDiskBytes - dataDirBytes(this.options.dataDir);
  }

  /**
   * Keys of batches that failed in an older partition are left out: the resend of such a batch must be
   * stored, since part of it is missing, rather than be taken for a duplicate.
   */
  private commit(write: PendingWrite, room: number, failures: ReadonlyMap<number, AppendFailure>): void {
    const partition = this.openPartition(write.bounds);
    const seen = this.labelSetsSeen.get(write.bounds.startMs)!;
    const newlySeen = new Set<number>();
    const counts = new MinuteCounts();
    let lastId = 0;
    limitGrowth(partition.db, room);
    partition.db.transaction(() => {
      write.lines.forEach((line, i) => {
        const labelSetId = this.labelSets.idOf(write.labelSets[i]);
        if (!seen.has(labelSetId) && !newlySeen.has(labelSetId)) {
          partition.insertSeen.run(labelSetId);
          newlySeen.add(labelSetId);
        }
        const level = severityOf(line.level);
        const { lastInsertRowid } = partition.insertLine.run(
          line.ts,
          labelSetId,
          level,
          line.message,
          line.fields ? JSON.stringify(line.fields) : null,
          line.format === null ? null : FORMAT_CODES[line.format],
        );
        lastId = Number(lastInsertRowid);
        const positions = write.positionsOut[i];
        if (positions) positions[write.lineIndexes[i]] = { ts: line.ts, partitionStart: write.bounds.startMs, id: Number(lastInsertRowid) };
        counts.add(line.ts, labelSetId, level);
      });
      for (const c of counts.rows()) partition.countLines.run(c.minute, c.labelSetId, c.severity, c.lines, c.lastTs);
      for (const { key, batch } of write.keys) if (!failures.has(batch)) partition.insertKey.run(key);
    })();
    this.lastIds.set(write.bounds.startMs, lastId);
    this.lastWrittenAt.set(write.bounds.startMs, Date.now());
    for (const line of write.lines) if (line.ts > this.latestTs) this.latestTs = line.ts;
    for (const id of newlySeen) seen.add(id);
  }

  private openPartition(bounds: PartitionBounds): OpenPartition {
    const cached = this.open.get(bounds.startMs);
    if (cached) {
      this.open.delete(bounds.startMs);
      this.open.set(bounds.startMs, cached);
      return cached;
    }
    const db = this.openPartitionFile(bounds);
    const partition: OpenPartition = {
      bounds,
      db,
      insertLine: db.prepare(
        `INSERT INTO "${bounds.name}" (ts, stream_id, level, message, fields, format) VALUES (?, ?, ?, ?, ?, ?)`,
      ),
      insertSeen: db.prepare('INSERT OR IGNORE INTO streams_seen (stream_id) VALUES (?)'),
      insertKey: db.prepare('INSERT OR IGNORE INTO batch_keys (idempotency_key) VALUES (?)'),
      countLines: db.prepare(
        `INSERT INTO line_counts (minute, stream_id, level, lines, last_ts) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT DO UPDATE SET lines = lines + excluded.lines, last_ts = max(last_ts, excluded.last_ts)`,
      ),
    };
    this.open.set(bounds.startMs, partition);
    if (this.open.size > OPEN_PARTITIONS) this.closePartition(this.open.keys().next().value!, true);
    return partition;
  }

  /** Checkpointing first leaves no WAL behind even while readers keep the file open. */
  private closePartition(startMs: number, checkpoint: boolean): void {
    const partition = this.open.get(startMs);
    if (!partition) return;
    if (checkpoint) partition.db.pragma('wal_checkpoint(TRUNCATE)');
    partition.db.close();
    this.open.delete(startMs);
  }

  /** The per-minute counts are written with the lines, in their transaction: their sum is the partition's lines. */
  private lineCount(bounds: PartitionBounds): number {
    const db = this.open.get(bounds.startMs)?.db ?? new Database(this.fileOf(bounds));
    const count = db.prepare('SELECT sum(lines) FROM line_counts').pluck().get() as number | null;
    if (!this.open.has(bounds.startMs)) db.close();
    return count ?? 0;
  }

  private generationOf(bounds: PartitionBounds): number {
    return this.generations.get(bounds.startMs) ?? 0;
  }

  private fileOf(bounds: PartitionBounds): string {
    return partitionFile(this.options.dataDir, bounds.name, this.generationOf(bounds));
  }

  /**
   * Partition files the catalogue does not list are removed: a partition is listed before its first
   * line is written, so such a file holds no line. Listed partitions whose file is gone are unlisted.
   */
  private reconcileFiles(): StoredPartition[] {
    const listed = this.catalogue.partitions();
    const present = listed.filter((p) => existsSync(partitionFile(this.options.dataDir, p.name, p.generation)));
    this.catalogue.removePartitions(listed.filter((p) => !present.includes(p)));
    const listedFiles = new Set(present.flatMap((p) => partitionFiles(this.options.dataDir, p.name, p.generation)));
    makeFilesPrivate([...listedFiles]);
    const dir = join(this.options.dataDir, 'partitions');
    for (const file of readdirSync(dir)) {
      if (listedFiles.has(join(dir, file))) continue;
      // Only what Daylog itself would have made is removed; anything else is someone's, and stops the boot.
      if (!PARTITION_FILE.test(file)) {
        throw new Error(`${join(dir, file)} is not a Daylog partition: move it out of ${dir}, which holds only Daylog's files`);
      }
      rmSync(join(dir, file), { force: true });
    }
    return present;
  }

  private openPartitionFile(bounds: PartitionBounds): Database.Database {
    const db = openDatabase(this.fileOf(bounds), this.options.synchronous);
    upgradePartition(db, bounds.name);
    db.exec(partitionSchema(bounds.name));
    registerWordFunction(db);
    return db;
  }

  private loadPartitionState(bounds: PartitionBounds): void {
    let db: Database.Database;
    try {
      db = this.openPartitionFile(bounds);
    } catch (error) {
      const file = this.fileOf(bounds);
      throw new Error(
        `${file} cannot be read as a Daylog partition (${(error as Error).message}): restore it, or move it out of ` +
          `${dirname(file)} to start without its lines`,
        { cause: error },
      );
    }
    const seen = db.prepare('SELECT stream_id FROM streams_seen').pluck().all() as number[];
    this.labelSetsSeen.set(bounds.startMs, new Set(seen));
    this.lastIds.set(bounds.startMs, lastLineId(db, bounds.name));
    this.latestTs = Math.max(this.latestTs, (db.prepare('SELECT max(last_ts) FROM line_counts').pluck().get() as number | null) ?? 0);
    const hasIndex = db.prepare(HAS_WORD_INDEX).pluck().get() as number;
    const indexed = hasIndex ? (db.prepare(WORD_INDEX_STATE).pluck().get() as number | undefined) : undefined;
    this.indexedUpTo.set(bounds.startMs, indexed ?? 0);
    db.close();
  }

  /** The label sets some live partition has lines of. */
  private usedLabelSets(): Set<number> {
    const used = new Set<number>();
    for (const seen of this.labelSetsSeen.values()) for (const id of seen) used.add(id);
    return used;
  }
}
