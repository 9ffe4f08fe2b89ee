import Database from 'better-sqlite3';
import { MatchExpression, tokens } from '@daylog/log-model';

/**
 * A partition's word index holds each line's words as `tokens` reads them (log-model's one rule for
 * a word: letters and digits, without case or marks), one space between each, in an FTS5 table whose
 * `ascii` tokenizer splits that text at those spaces and nowhere else, so that the index and the
 * matcher cannot disagree on what a word is. FTS5's own rule (unicode61) splits Thai, Tamil or
 * Devanagari words at their vowel signs and keeps Hangul syllables and voiced kana whole, while the
 * matcher decomposes them: an index built from the raw text missed such lines.
 */
export function wordIndexTable(table: string): string {
  return `${table}_words`;
}

/** The table naming how far (up to which line id) the index has been brought. */
const STATE_TABLE = 'words_state';

/** What an earlier Daylog indexed raw text into, with FTS5's own rule. */
const OUTDATED_STATE_TABLE = 'fts_state';
const outdatedIndexTable = (table: string) => `${table}_fts`;

/** Whether a partition has a word index, and up to which line id; `indexed_upto` is absent when none. */
export const HAS_WORD_INDEX = `SELECT count(*) AS found FROM sqlite_master WHERE name = '${STATE_TABLE}'`;
export const WORD_INDEX_STATE = `SELECT indexed_upto FROM ${STATE_TABLE}`;

/** Words only: no positions, no copy of the text; about 40 B a line. */
export function wordIndexSchema(table: string): string {
  return `
    CREATE VIRTUAL TABLE IF NOT EXISTS "${wordIndexTable(table)}" USING fts5(words, content='', detail=none, columnsize=0, tokenize='ascii');
    CREATE TABLE IF NOT EXISTS ${STATE_TABLE} (indexed_upto INTEGER NOT NULL);
  `;
}

/** The FTS5 query that finds every candidate: all tokens of all terms (FTS5 without positions cannot check phrases). */
export function ftsQuery(expression: MatchExpression): string {
  return expression.terms
    .flatMap((term) => (term.kind === 'word' ? [`"${term.token}"${term.prefix ? '*' : ''}`] : term.tokens.map((token) => `"${token}"`)))
    .join(' AND ');
}

/** The SQL function the writer indexes text that is not all ASCII with: its words, as `tokens` reads them. */
export function registerWordFunction(db: Database.Database): void {
  db.function('daylog_words', { deterministic: true }, (message: unknown) => tokens(message as string).join(' '));
}

/**
 * ASCII text goes to FTS5 as it is: its `ascii` tokenizer reads it as `tokens` does (runs of letters and
 * digits, lower case), in C; only other text is split in JavaScript. Splitting every line there cost ingest
 * a third of its rate while an hour was being indexed. (SQLite text holds no NUL.)
 */
const INDEXED_WORDS = `CASE WHEN message GLOB '*[^' || char(1) || '-' || char(127) || ']*' THEN daylog_words(message) ELSE message END`;

/** Adds the lines with ids in (from, to] to the index (its schema made and the word function registered). */
export function indexLines(db: Database.Database, table: string, from: number, to: number): void {
  db.prepare(`INSERT INTO "${wordIndexTable(table)}" (rowid, words) SELECT id, ${INDEXED_WORDS} FROM "${table}" WHERE id > ? AND id <= ?`).run(from, to);
  db.exec(`DELETE FROM ${STATE_TABLE}`);
  db.prepare(`INSERT INTO ${STATE_TABLE} (indexed_upto) VALUES (?)`).run(to);
}

/**
 * Drops an index an earlier Daylog built from the raw text: it holds FTS5's words, not the matcher's.
 * The partition is read without an index until the writer builds the new one in its idle time.
 */
export function dropOutdatedWordIndex(db: Database.Database, table: string): void {
  db.exec(`DROP TABLE IF EXISTS "${outdatedIndexTable(table)}"; DROP TABLE IF EXISTS ${OUTDATED_STATE_TABLE};`);
}
