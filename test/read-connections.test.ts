import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { PAGE_CACHE_KB_PER_CONNECTION, ReadConnections } from '../libs/storage-sqlite/src/read-connections';
import { tempDataDir } from './support/test-app';

const FILES = 3;
/** Rows smaller than a page, so that a scan reads every page through the cache (larger ones would overflow). */
const ROWS = 20_000;
const ROW_BYTES = 1_000;
/** What else the process may take while it reads (its heap, SQLite's statements): far below the 16 MB a connection cached. */
const ALLOWANCE_BYTES = 12 * 1024 * 1024;

function rssBytes(): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
}

/** A file of ~20 MB, written through a small cache so that the writing leaves no freed pages for the reads to reuse. */
function writeFile(file: string): void {
  const db = new Database(file);
  db.pragma('cache_size = 16');
  db.exec(`CREATE TABLE rows (body BLOB);
    INSERT INTO rows WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${ROWS}) SELECT randomblob(${ROW_BYTES}) FROM n`);
  db.close();
}

describe('read connections', () => {
  let dir: string;
  let files: string[];
  before(() => {
    dir = tempDataDir();
    files = Array.from({ length: FILES }, (_, i) => join(dir, `partition-${i}.db`));
    files.forEach(writeFile);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('keep a bounded page cache each, however much of its file a statement reads', () => {
    const connections = new ReadConnections(null);
    try {
      const before = rssBytes();
      for (const file of files) {
        const [{ bytes }] = connections.get(file).all<{ bytes: number }>({ sql: 'SELECT sum(length(body)) AS bytes FROM rows', params: [] });
        assert.equal(bytes, ROWS * ROW_BYTES);
      }
      const grown = rssBytes() - before;
      const bound = FILES * PAGE_CACHE_KB_PER_CONNECTION * 1024 + ALLOWANCE_BYTES;
      assert.ok(grown <= bound, `${FILES} connections that each read ${(ROWS * ROW_BYTES) / 1e6} MB grew the process by ${(grown / 1e6).toFixed(1)} MB (bound ${(bound / 1e6).toFixed(1)} MB)`);
    } finally {
      connections.forgetAll();
    }
  });
});
