import { partitionSchema } from './partition-schema';

/**
 * A compacted partition's file: its lines in compressed blocks of one label set each (block-codec.ts), with
 * each block's time range, id range and levels beside it so that reads open only the blocks they need. The
 * line table keeps its name and indexes for the lines that arrive after the rewrite (late lines), which reads
 * merge with the blocks'; its ids go on from the last line's (AUTOINCREMENT, seeded by the compaction), so a
 * late line's id is never a block line's. The word index is in two parts (block-words.ts): `blocks_words`, of
 * words of letters, a document a block; and each block's `digit_words`, a Bloom filter of its words with digits.
 */
export const BLOCKS_TABLE = 'blocks';
export const BLOCK_WORDS_TABLE = 'blocks_words';

export function compactedSchema(table: string, fullText: boolean): string {
  return `
    CREATE TABLE "${table}" (
      id        INTEGER PRIMARY KEY AUTOINCREMENT,
      ts        INTEGER NOT NULL,
      stream_id INTEGER NOT NULL,
      level     INTEGER NOT NULL,
      message   TEXT    NOT NULL,
      fields    TEXT,
      format    INTEGER
    );
    ${partitionSchema(table)}
    CREATE TABLE ${BLOCKS_TABLE} (
      id        INTEGER PRIMARY KEY,
      stream_id INTEGER NOT NULL,
      ts_min    INTEGER NOT NULL,
      ts_max    INTEGER NOT NULL,
      id_min    INTEGER NOT NULL,
      id_max    INTEGER NOT NULL,
      lines     INTEGER NOT NULL,
      levels    INTEGER NOT NULL,
      digit_words BLOB,
      payload_bytes INTEGER NOT NULL,
      data      BLOB    NOT NULL
    );
    CREATE INDEX ${BLOCKS_TABLE}_by_time ON ${BLOCKS_TABLE} (ts_max, ts_min);
    ${fullText ? `CREATE VIRTUAL TABLE ${BLOCK_WORDS_TABLE} USING fts5(words, content='', detail=none, columnsize=0, tokenize='ascii');` : ''}
  `;
}

/** Whether a partition file is compacted (holds blocks), and whether it has a word index of its blocks. */
export const COMPACTED_TABLES = `SELECT
  count(*) FILTER (WHERE name = '${BLOCKS_TABLE}') AS blocks,
  count(*) FILTER (WHERE name = '${BLOCK_WORDS_TABLE}') AS words
  FROM sqlite_master`;

/** A level set as a block's `levels` mask: bit `severity`. */
export function levelMask(severities: Iterable<number>): number {
  let mask = 0;
  for (const severity of severities) mask |= 1 << severity;
  return mask;
}
