import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { HAS_WORD_INDEX, WORD_INDEX_STATE } from '../../libs/storage-sqlite/src/word-index';

export interface WordIndexState {
  lines: number;
  /** Up to which line id the partition's word index holds its lines; null: it has none. */
  indexed: number | null;
}

/** Partition files, oldest first, each with how many lines it has and how many its index holds. */
export function indexState(dataDir: string): WordIndexState[] {
  const dir = join(dataDir, 'partitions');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.db'))
    .sort()
    .map((file) => {
      const db = new Database(join(dir, file), { readonly: true });
      try {
        const lines = db.prepare(`SELECT count(*) FROM "${file.slice(0, -3)}"`).pluck().get() as number;
        const hasIndex = db.prepare(HAS_WORD_INDEX).pluck().get() as number;
        const indexed = hasIndex ? (db.prepare(WORD_INDEX_STATE).pluck().get() as number) : null;
        return { lines, indexed };
      } finally {
        db.close();
      }
    });
}

export async function untilIndexed(dataDir: string, expected: (state: WordIndexState[]) => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!expected(indexState(dataDir))) {
    if (Date.now() > deadline) throw new Error(`not indexed as expected: ${JSON.stringify(indexState(dataDir))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
