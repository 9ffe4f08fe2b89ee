import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { ACTIVE_CACHE_KB, ACTIVE_CONNECTIONS, ReadConnections } from '../libs/storage-sqlite/src/read-connections';
import { tempDataDir } from './support/test-app';

const FILES = 3;
/** The partitions a pod's page read in the bench early in an hour: the open one and 5 compressed ones. */
const PAGE_PARTITIONS = 6;
/** Rows smaller than a page, so that a scan reads every page through the cache (larger ones would overflow). */
const ROWS = 20_000;
const ROW_BYTES = 1_000;
/** What else the process may take while it reads (its heap, SQLite's statements): far below the 16 MB a connection cached. */
const ALLOWANCE_BYTES = 12 * 1024 * 1024;

function rssBytes(): number {
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]) * 1024;
}

/** Bytes this process has read from files (or pipes) by system calls so far: what a page not kept in SQLite's cache costs. */
function bytesRead(): number {
  return Number(/^rchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))![1]);
}

/** Rows spread over a file as a page of the hour's errors is: every 100th, each on a page of the table of its own. */
const SPREAD_PAGE = `WITH RECURSIVE n(id) AS (SELECT 100 UNION ALL SELECT id + 100 FROM n WHERE id < 15000)
  SELECT sum(length(body)) AS bytes FROM rows WHERE rowid IN (SELECT id FROM n)`;
/** What SPREAD_PAGE reads of the file, at least: 150 pages of 4 kB. */
const SPREAD_BYTES = 150 * 4096;

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
    for (let i = 0; i < ACTIVE_CONNECTIONS; i++) new Database(join(dir, `other-${i}.db`)).close();
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
      const bound = FILES * ACTIVE_CACHE_KB * 1024 + ALLOWANCE_BYTES;
      assert.ok(grown <= bound, `${FILES} connections that each read ${(ROWS * ROW_BYTES) / 1e6} MB grew the process by ${(grown / 1e6).toFixed(1)} MB (bound ${(bound / 1e6).toFixed(1)} MB)`);
    } finally {
      connections.forgetAll();
    }
  });

  it('give rows as objects keyed by their columns, as better-sqlite3 makes them', () => {
    const connections = new ReadConnections(null);
    const sql = `SELECT rowid AS id, length(body) AS bytes, NULL AS absent, 0.5 AS half, 'ü' AS text, x'00ff' AS blob, 1 AS twice, 2 AS twice
      FROM rows WHERE rowid <= 3 ORDER BY rowid DESC`;
    const reference = new Database(files[0], { readonly: true });
    try {
      const rows = connections.get(files[0]).all<Record<string, unknown>>({ sql, params: [] });
      assert.deepEqual(rows, reference.prepare(sql).all());
      assert.deepEqual(Object.keys(rows[0]), ['id', 'bytes', 'absent', 'half', 'text', 'blob', 'twice']);
      assert.deepEqual(connections.get(files[0]).all({ sql: 'SELECT 1 AS one WHERE 0', params: [] }), []);
    } finally {
      reference.close();
      connections.forgetAll();
    }
  });

  it('keep the pages a page of lines reads in the connections read last, and let go of them in the others', () => {
    const connections = new ReadConnections(null);
    const readAgain = (file: string): number => {
      const started = bytesRead();
      connections.get(file).all({ sql: SPREAD_PAGE, params: [] });
      return bytesRead() - started;
    };
    try {
      connections.get(files[0]).all({ sql: SPREAD_PAGE, params: [] });
      const kept = readAgain(files[0]);
      assert.ok(kept < SPREAD_BYTES / 8, `the same page again read ${kept} bytes from its file`);
      // Files read since push it out of the connections read last.
      for (let i = 0; i < 4; i++) connections.get(files[1 + (i % 2)]).all({ sql: 'SELECT count(*) FROM rows', params: [] });
      for (let i = 0; i < ACTIVE_CONNECTIONS; i++) connections.get(join(dir, `other-${i}.db`)).all({ sql: 'SELECT 1', params: [] });
      const letGo = readAgain(files[0]);
      assert.ok(letGo > SPREAD_BYTES / 2, `a page of a connection not read lately read only ${letGo} bytes from its file`);
      // Read again, it is among the connections read last once more, and keeps its pages again.
      const keptOnceMore = readAgain(files[0]);
      assert.ok(keptOnceMore < SPREAD_BYTES / 8, `the same page again, back among the connections read last, read ${keptOnceMore} bytes`);
    } finally {
      connections.forgetAll();
    }
  });

  it('keep the pages of each partition a page reads in turn, page after page, for a page over 6 of them', () => {
    const connections = new ReadConnections(null);
    // A pod's page early in the hour, as the bench's read it: the large files, then small ones.
    const partitions = [...files, ...Array.from({ length: PAGE_PARTITIONS - FILES }, (_, i) => join(dir, `other-${i}.db`))];
    const readPage = (): number => {
      const started = bytesRead();
      for (const file of partitions) {
        connections.get(file).all({ sql: file.includes('partition-') ? SPREAD_PAGE : 'SELECT 1', params: [] });
      }
      return bytesRead() - started;
    };
    try {
      readPage();
      const again = readPage();
      assert.ok(again < (FILES * SPREAD_BYTES) / 8, `the same page over ${partitions.length} partitions again read ${again} bytes from their files`);
    } finally {
      connections.forgetAll();
    }
  });
});
