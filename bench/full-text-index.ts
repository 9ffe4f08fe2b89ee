import Database from 'better-sqlite3';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { HAS_WORD_INDEX, WORD_INDEX_STATE } from '../libs/storage-sqlite/src/word-index';
import { nowMs } from './bench-support';

/** Lines in partitions other than the newest that their word index does not hold yet. */
export function unindexedLines(dataDir: string): number {
  const dir = join(dataDir, 'partitions');
  // A compacted partition's file (logs_….g1.db) indexes its blocks as it is written.
  const files = readdirSync(dir).filter((file) => file.endsWith('.db') && !/\.g\d+\.db$/.test(file)).sort();
  let behind = 0;
  for (const file of files.slice(0, -1)) {
    const db = new Database(join(dir, file), { readonly: true });
    try {
      const lines = (db.prepare(`SELECT max(id) FROM "${file.slice(0, -3)}"`).pluck().get() as number | null) ?? 0;
      const hasIndex = db.prepare(HAS_WORD_INDEX).pluck().get() as number;
      const indexed = hasIndex ? ((db.prepare(WORD_INDEX_STATE).pluck().get() as number | undefined) ?? 0) : 0;
      behind += lines - indexed;
    } finally {
      db.close();
    }
  }
  return behind;
}

/** Waits until the writer has indexed every partition but the newest; how long that took, and how much was left at the start. */
export async function waitForIndex(dataDir: string, timeoutMs = 600_000): Promise<{ ms: number; behindAtStart: number }> {
  const started = nowMs();
  const behindAtStart = unindexedLines(dataDir);
  while (unindexedLines(dataDir) > 0) {
    if (nowMs() - started > timeoutMs) throw new Error(`the word index was still behind after ${timeoutMs} ms`);
    await sleep(100);
  }
  return { ms: nowMs() - started, behindAtStart };
}
