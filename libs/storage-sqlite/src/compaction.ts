import Database from 'better-sqlite3';
import { closeSync, fsyncSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { BlockLine, compressBlock } from './block-codec';
import { blockWords } from './block-words';
import { StoredPartition } from './catalogue';
import { BLOCKS_TABLE, BLOCK_WORDS_TABLE, compactedSchema, levelMask } from './compacted-schema';
import { WRITER_CACHE_KB, partitionFile, partitionFiles } from './partition-schema';
import { makeDatabasePrivate } from './private-files';

/** A block holds at most this many lines, or this many bytes of messages and fields: Loki's and Lucene's sizes. */
export const BLOCK_LINES = 1024;
export const BLOCK_BYTES = 256 * 1024;

interface SourceRow extends BlockLine {
  stream_id: number;
}

interface ReadPosition {
  streamId: number;
  ts: number;
  id: number;
}

/**
 * Rewrites a closed partition's lines (generation 0) into compressed blocks in its next generation's file, a
 * step at a time so that the writer goes on committing between steps. Lines of one label set are read in
 * reading order from the label-set index and cut into blocks; the lines that arrive meanwhile (ids past those
 * there when it began) are copied as they are by `finish`, with the counts, label sets and batch keys. Nothing
 * reads the new file until the catalogue names it (the writer's swap); a crash before leaves a file that the next
 * boot removes, since the catalogue does not name it.
 */
export class PartitionCompaction {
  readonly generation: number;
  private readonly source: Database.Database;
  private readonly target: Database.Database;
  private readonly targetFile: string;
  private readonly lastIdAtStart: number;
  private readonly nextRows: Database.Statement<[number, number, number, number, number], SourceRow>;
  private readonly insertBlock: Database.Statement<[number, number, number, number, number, number, number, Buffer | null, number, Buffer]>;
  private readonly insertWords: Database.Statement<[number | bigint, string]> | null;
  private position: ReadPosition = { streamId: -1, ts: 0, id: 0 };
  private finished = false;
  linesCompacted = 0;

  constructor(
    private readonly dataDir: string,
    readonly partition: StoredPartition,
    fullText: boolean,
  ) {
    if (partition.generation !== 0) throw new Error(`${partition.name} is already compacted (generation ${partition.generation})`);
    this.generation = partition.generation + 1;
    const table = partition.name;
    this.source = new Database(partitionFile(dataDir, table, partition.generation), { readonly: true, fileMustExist: true });
    this.source.pragma(`cache_size = -${WRITER_CACHE_KB}`);
    this.targetFile = partitionFile(dataDir, table, this.generation);
    this.removeTarget();
    makeDatabasePrivate(this.targetFile);
    this.target = new Database(this.targetFile);
    this.target.pragma(`cache_size = -${WRITER_CACHE_KB}`);
    // The file is unnamed by the catalogue until finished, and removed at boot if a crash leaves it: no journal is needed.
    this.target.pragma('journal_mode = OFF');
    this.target.pragma('synchronous = OFF');
    this.target.exec(compactedSchema(table, fullText));
    this.lastIdAtStart = (this.source.prepare(`SELECT max(id) FROM "${table}"`).pluck().get() as number | null) ?? 0;
    this.nextRows = this.source.prepare(
      `SELECT id, ts, stream_id, level AS severity, message, fields, format FROM "${table}"
       WHERE (stream_id, ts, id) > (?, ?, ?) AND id <= ? ORDER BY stream_id, ts, id LIMIT ?`,
    );
    this.insertBlock = this.target.prepare(
      `INSERT INTO ${BLOCKS_TABLE} (stream_id, ts_min, ts_max, id_min, id_max, lines, levels, digit_words, payload_bytes, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.insertWords = fullText ? this.target.prepare(`INSERT INTO ${BLOCK_WORDS_TABLE} (rowid, words) VALUES (?, ?)`) : null;
  }

  /** Writes the next block; false once every line there was at the start is in one. */
  step(): boolean {
    if (this.finished) return false;
    const { streamId, ts, id } = this.position;
    const rows = this.nextRows.all(streamId, ts, id, this.lastIdAtStart, BLOCK_LINES);
    if (rows.length === 0) return false;
    const block: SourceRow[] = [];
    let bytes = 0;
    for (const row of rows) {
      if (row.stream_id !== rows[0].stream_id) break;
      bytes += row.message.length + (row.fields?.length ?? 0);
      if (block.length > 0 && bytes > BLOCK_BYTES) break;
      block.push(row);
    }
    this.writeBlock(block);
    const last = block[block.length - 1];
    this.position = { streamId: last.stream_id, ts: last.ts, id: last.id };
    this.linesCompacted += block.length;
    return true;
  }

  /**
   * Copies what the blocks do not hold (the lines written since the start, with their ids; the per-minute counts,
   * label sets and batch keys as they are now), makes the file durable and readable alongside a writer (WAL), and
   * closes it. To be called with no commit to the partition in between: the writer's thread, in one go.
   */
  finish(): void {
    const table = this.partition.name;
    const copy = <Row extends object>(select: string, insert: string, columns: (row: Row) => unknown[]) => {
      const statement = this.target.prepare(insert);
      for (const row of this.source.prepare(select).iterate() as IterableIterator<Row>) statement.run(...columns(row));
    };
    this.target.transaction(() => {
      type Line = { id: number; ts: number; stream_id: number; level: number; message: string; fields: string | null; format: number | null };
      copy<Line>(
        `SELECT id, ts, stream_id, level, message, fields, format FROM "${table}" WHERE id > ${this.lastIdAtStart} ORDER BY id`,
        `INSERT INTO "${table}" (id, ts, stream_id, level, message, fields, format) VALUES (?, ?, ?, ?, ?, ?, ?)`,
        (l) => [l.id, l.ts, l.stream_id, l.level, l.message, l.fields, l.format],
      );
      type Count = { minute: number; stream_id: number; level: number; lines: number; last_ts: number };
      copy<Count>(
        'SELECT minute, stream_id, level, lines, last_ts FROM line_counts',
        'INSERT INTO line_counts (minute, stream_id, level, lines, last_ts) VALUES (?, ?, ?, ?, ?)',
        (c) => [c.minute, c.stream_id, c.level, c.lines, c.last_ts],
      );
      copy<{ stream_id: number }>('SELECT stream_id FROM streams_seen', 'INSERT INTO streams_seen (stream_id) VALUES (?)', (s) => [s.stream_id]);
      copy<{ idempotency_key: string }>('SELECT idempotency_key FROM batch_keys', 'INSERT INTO batch_keys (idempotency_key) VALUES (?)', (k) => [k.idempotency_key]);
      const lastId = (this.source.prepare(`SELECT max(id) FROM "${table}"`).pluck().get() as number | null) ?? 0;
      this.target.prepare(`DELETE FROM sqlite_sequence WHERE name = ?`).run(table);
      this.target.prepare(`INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)`).run(table, lastId);
    })();
    this.target.pragma('journal_mode = WAL');
    this.target.close();
    this.source.close();
    this.finished = true;
    syncFile(this.targetFile);
    syncFile(dirname(this.targetFile));
  }

  /** Stops and removes the new file: the partition is being dropped, or the writer is closing. */
  abort(): void {
    if (this.target.open) this.target.close();
    if (this.source.open) this.source.close();
    this.removeTarget();
  }

  private writeBlock(lines: SourceRow[]): void {
    const { data, payloadBytes } = compressBlock(lines);
    const ids = lines.map((line) => line.id);
    const levels = levelMask(lines.map((line) => line.severity));
    const words = this.insertWords ? blockWords(lines.map((line) => line.message)) : null;
    this.target.transaction(() => {
      const { lastInsertRowid } = this.insertBlock.run(
        lines[0].stream_id,
        lines[0].ts,
        lines[lines.length - 1].ts,
        Math.min(...ids),
        Math.max(...ids),
        lines.length,
        levels,
        words?.withDigits ?? null,
        payloadBytes,
        data,
      );
      if (words) this.insertWords?.run(lastInsertRowid, words.letters);
    })();
  }

  private removeTarget(): void {
    for (const file of partitionFiles(this.dataDir, this.partition.name, this.generation)) rmSync(file, { force: true });
  }
}

function syncFile(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
