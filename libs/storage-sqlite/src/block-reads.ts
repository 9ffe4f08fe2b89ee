import { severityOf } from '@daylog/log-model';
import {
  CountQuery,
  CountRow,
  CursorPosition,
  KeyRange,
  LineFilter,
  LineKey,
  LineRow,
  LogQuery,
  PartitionBounds,
  QueryBudgetExceeded,
  joinedTextTest,
  rowMatcher,
  searchesText,
  sharedClockNow,
} from '@daylog/storage';
import { DecodedBlock } from './block-codec';
import { blockWordQuery, mayHoldAll } from './block-words';
import { BLOCKS_TABLE, BLOCK_WORDS_TABLE, levelMask } from './compacted-schema';
import { LINE_COLUMNS, Statement, countStatement, pageStatement } from './page-statement';
import { PartitionConnection } from './read-connections';

/** What a read of a compacted partition's lines asks: WindowRead's, with whether its blocks have a word index. */
export interface BlockRead {
  partition: PartitionBounds;
  filter: LineFilter;
  labelSetIds: number[] | null;
  range: KeyRange | null;
  words: boolean;
}

/** A read of a compacted partition as a search thread is sent it (runBlockJob answers it). */
export type BlockJob =
  | { kind: 'page'; read: BlockRead; order: Pick<LogQuery, 'direction' | 'after'>; limit: number }
  | { kind: 'count'; read: BlockRead; bucketMs: CountQuery['bucketMs'] };

interface BlockEntry {
  id: number;
  streamId: number;
  tsMin: number;
  tsMax: number;
  /** Its Bloom filter of words with digits, when a match asks for such words. */
  withDigits?: Buffer | null;
}

/** Decoded blocks kept per thread: a page that goes on where the last ended, or a line's context, reads the same blocks. */
const DECODED_BLOCKS_KEPT = 4;
const decodedBlocks = new Map<string, DecodedBlock>();

/** Reading order's comparison: time, then id. */
const forwardOrder = (a: LineKey, b: LineKey): number => a.ts - b.ts || a.id - b.id;
const backwardOrder = (a: LineKey, b: LineKey): number => b.ts - a.ts || b.id - a.id;

/** The keys a read takes in, as bounds on (ts, id): its time range, the page's position, its key range. */
interface KeyBounds {
  /** Lowest key in, or just below it (exclusive). */
  after: LineKey;
  /** Highest key in (inclusive). */
  through: LineKey;
}

function keyBounds(read: BlockRead, order: Pick<LogQuery, 'direction' | 'after'> | null): KeyBounds {
  let after: LineKey = { ts: read.filter.fromMs, id: -1 };
  let through: LineKey = { ts: read.filter.toMs - 1, id: Number.MAX_SAFE_INTEGER };
  const raise = (key: LineKey) => (forwardOrder(key, after) > 0 ? (after = key) : after);
  const lower = (key: LineKey) => (forwardOrder(key, through) < 0 ? (through = key) : through);
  const position = order?.after;
  if (!read.range && position && position.partitionStart === read.partition.startMs) {
    if (order.direction === 'backward') lower({ ts: position.ts, id: position.id - 1 });
    else raise({ ts: position.ts, id: position.id });
  }
  if (read.range?.after) raise(read.range.after);
  if (read.range?.through) lower(read.range.through);
  return { after, through };
}

/**
 * Reads a compacted partition: its blocks, chosen by their time range, label set, levels and (for words) the
 * word index, opened in reading order and filtered here with the filter's meaning (rowMatcher), merged with
 * its late lines, read by SQL as in any partition. A thread reads it until `deadline` (sharedClockNow; null: none).
 */
export class CompactedReads {
  constructor(
    private readonly connection: PartitionConnection,
    private readonly file: string,
    private readonly deadline: number | null,
  ) {}

  run(job: BlockJob): LineRow[] | CountRow[] {
    return job.kind === 'page' ? this.page(job.read, job.order, job.limit) : this.count(job.read, job.bucketMs);
  }

  page(read: BlockRead, order: Pick<LogQuery, 'direction' | 'after'>, limit: number): LineRow[] {
    const backward = order.direction === 'backward';
    const compare = backward ? backwardOrder : forwardOrder;
    const query: LogQuery = { ...read.filter, direction: order.direction, after: order.after, limit };
    const lines = this.connection.all<LineRow>(pageStatement(read.partition, query, read.labelSetIds, limit, null, read.range));
    const bounds = keyBounds(read, order);
    const blocks = this.blocks(read, bounds, backward ? 'ORDER BY ts_max DESC' : 'ORDER BY ts_min');
    const keep = this.lineTest(read, bounds, backward);
    for (const entry of blocks) {
      if (lines.length >= limit) {
        lines.sort(compare);
        lines.length = limit;
        const last = lines[limit - 1];
        if (backward ? entry.tsMax < last.ts : entry.tsMin > last.ts) break;
      }
      // The page's lines are the first `limit` of all: none of a block's beyond its own first `limit` can be among them.
      keep(entry, (row) => lines.push(row), limit);
    }
    lines.sort(compare);
    if (lines.length > limit) lines.length = limit;
    return lines;
  }

  count(read: BlockRead, bucketMs: CountQuery['bucketMs']): CountRow[] {
    const counts = new Map<string, CountRow>();
    const add = (start: number, labelSetId: number, severity: number, lines: number, lastTs: number) => {
      const key = `${start}:${labelSetId}:${severity}`;
      const count = counts.get(key);
      if (!count) counts.set(key, { start, labelSetId, severity, lines, lastTs });
      else {
        count.lines += lines;
        count.lastTs = Math.max(count.lastTs, lastTs);
      }
    };
    for (const row of this.connection.all<CountRow>(countStatement(read.partition, read.filter, read.labelSetIds, bucketMs, null, read.range))) {
      add(row.start, row.labelSetId, row.severity, row.lines, row.lastTs);
    }
    const bounds = keyBounds(read, null);
    // A count without text to test needs no line's text: rebuilding a block's messages would be most of its cost.
    const keep = this.lineTest(read, bounds, false, searchesText(read.filter));
    for (const entry of this.blocks(read, bounds, '')) {
      keep(entry, (row) => add(bucketMs === null ? 0 : row.ts - (row.ts % bucketMs), row.labelSetId, row.severity, 1, row.ts));
    }
    return [...counts.values()];
  }

  lineAt(position: CursorPosition, table: string): LineRow | null {
    const [late] = this.connection.all<LineRow>({ sql: `SELECT ${LINE_COLUMNS} FROM "${table}" WHERE id = ? AND ts = ?`, params: [position.id, position.ts] });
    if (late) return late;
    const entries = this.connection.all<BlockEntry>({
      sql: `SELECT id, stream_id AS streamId, ts_min AS tsMin, ts_max AS tsMax FROM ${BLOCKS_TABLE}
        WHERE ts_min <= ? AND ts_max >= ? AND id_min <= ? AND id_max >= ?`,
      params: [position.ts, position.ts, position.id, position.id],
    });
    for (const entry of entries) {
      const block = this.decoded(entry.id);
      for (let i = 0; i < block.length; i++) if (block.ids[i] === position.id && block.ts[i] === position.ts) return block.row(i, entry.streamId);
    }
    return null;
  }

  /** The key of the `count`-th line after `start` in reading order within [fromMs, toMs), of every label set: blocks' and late lines' keys together. */
  keyAfter(table: string, fromMs: number, toMs: number, start: LineKey | null, backward: boolean, count: number): LineKey | null {
    const compare = backward ? backwardOrder : forwardOrder;
    const keys = this.connection.all<LineKey>({ sql: `SELECT ts, id FROM "${table}" WHERE ts >= ? AND ts < ?`, params: [fromMs, toMs] });
    const entries = this.connection.all<BlockEntry>({
      sql: `SELECT id, stream_id AS streamId, ts_min AS tsMin, ts_max AS tsMax FROM ${BLOCKS_TABLE} WHERE ts_max >= ? AND ts_min < ?`,
      params: [fromMs, toMs],
    });
    for (const entry of entries) {
      const block = this.decoded(entry.id);
      for (let i = 0; i < block.length; i++) if (block.ts[i] >= fromMs && block.ts[i] < toMs) keys.push({ ts: block.ts[i], id: block.ids[i] });
    }
    const after = start ? keys.filter((key) => compare(key, start) > 0) : keys;
    after.sort(compare);
    return after[count - 1] ?? null;
  }

  /** The blocks that may hold lines of the read within the bounds, in `order`. */
  private blocks(read: BlockRead, bounds: KeyBounds, order: string): BlockEntry[] {
    const words = read.filter.match && read.words ? blockWordQuery(read.filter.match) : null;
    const statement: Statement = {
      sql: `SELECT id, stream_id AS streamId, ts_min AS tsMin, ts_max AS tsMax${words?.withDigits.length ? ', digit_words AS withDigits' : ''}
        FROM ${BLOCKS_TABLE} WHERE ts_max >= ? AND ts_min <= ?`,
      params: [bounds.after.ts, bounds.through.ts],
    };
    if (read.labelSetIds) {
      statement.sql += ' AND stream_id IN (SELECT value FROM json_each(?))';
      statement.params.push(JSON.stringify(read.labelSetIds));
    }
    if (read.filter.levels) {
      statement.sql += ' AND levels & ? <> 0';
      statement.params.push(levelMask(read.filter.levels.map(severityOf)));
    }
    if (words?.letters) {
      statement.sql += ` AND id IN (SELECT rowid FROM ${BLOCK_WORDS_TABLE} WHERE ${BLOCK_WORDS_TABLE} MATCH ?)`;
      statement.params.push(words.letters);
    }
    statement.sql += ` ${order}`;
    const blocks = this.connection.all<BlockEntry>(statement);
    return words?.withDigits.length ? blocks.filter((block) => mayHoldAll(block.withDigits ?? null, words.withDigits)) : blocks;
  }

  /**
   * Hands the lines of a block that the read takes in to `take`, in reading order (`backward` or not; a block holds
   * its lines in forward order: time, then id), at most `most` of them: those within the bounds that pass the
   * filter. A line whose text cannot hold the filter's words and substrings (joinedTextTest) is passed over before
   * its row is made and matched. Without `withText`, rows are made without their text (DecodedBlock.keyRow): for a
   * read whose filter tests none and which takes no more than keys and severities.
   */
  private lineTest(read: BlockRead, bounds: KeyBounds, backward: boolean, withText = true): (entry: BlockEntry, take: (row: LineRow) => void, most?: number) => void {
    const matches = rowMatcher(read.filter);
    const joinedText = joinedTextTest(read.filter);
    const testsText = joinedText.needles.length > 0;
    const { after, through } = bounds;
    return (entry, take, most = Infinity) => {
      if (this.deadline !== null && sharedClockNow() > this.deadline) {
        throw new QueryBudgetExceeded('time', { maxScannedLines: Infinity, deadlineMs: this.deadline, timeoutMs: Infinity, now: sharedClockNow });
      }
      const block = this.decoded(entry.id);
      if (testsText && !block.mayHold(joinedText)) return;
      const { ts, ids, length } = block;
      let taken = 0;
      for (let step = 0; step < length && taken < most; step++) {
        const i = backward ? length - 1 - step : step;
        const beforeBounds = ts[i] < after.ts || (ts[i] === after.ts && ids[i] <= after.id);
        const pastBounds = ts[i] > through.ts || (ts[i] === through.ts && ids[i] > through.id);
        if (beforeBounds || pastBounds) {
          if (backward ? beforeBounds : pastBounds) break;
          continue;
        }
        if (testsText && !joinedText.holds(block.message(i), block.ascii)) continue;
        const row = withText ? block.row(i, entry.streamId) : block.keyRow(i, entry.streamId);
        if (matches(row)) {
          take(row);
          taken++;
        }
      }
    };
  }

  private decoded(blockId: number): DecodedBlock {
    const key = `${this.file}:${blockId}`;
    let block = decodedBlocks.get(key);
    if (block) {
      decodedBlocks.delete(key);
    } else {
      const [{ data, payloadBytes }] = this.connection.all<{ data: Buffer; payloadBytes: number }>({
        sql: `SELECT data, payload_bytes AS payloadBytes FROM ${BLOCKS_TABLE} WHERE id = ?`,
        params: [blockId],
      });
      block = DecodedBlock.inflate(data, payloadBytes);
      if (decodedBlocks.size >= DECODED_BLOCKS_KEPT) decodedBlocks.delete(decodedBlocks.keys().next().value!);
    }
    decodedBlocks.set(key, block);
    return block;
  }
}
