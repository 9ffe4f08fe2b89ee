import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { MINUTE, ingestLines, startTestApp, tempDataDir } from './support/test-app';

/** What SQLite's partition files hold, read as files: the suite's one part that is not the same on PostgreSQL. */
function partitionFiles(dataDir: string): string[] {
  return readdirSync(join(dataDir, 'partitions')).filter((file) => file.endsWith('.db'));
}

describe('partition files', () => {
  it('keep the format codes lines were stored with in earlier partition files: 1 nginx-access, 2 nginx-error', async () => {
    const t = await startTestApp();
    try {
      const access = '10.0.0.7 - - [24/Nov/2026:09:30:00 +0000] "GET /cart?id=30 HTTP/1.1" 200 512 "-" "curl/8.5"';
      const error = `${new Date(t.clock.now() - MINUTE).toISOString().slice(0, 19).replaceAll('-', '/').replace('T', ' ')} [error] 31#31: x`;
      for (const [format, message] of [['nginx-access', access], ['nginx-error', error]]) {
        const response = await t.http.post(`/api/v1/logs?pod=codes&format=${format}`).set('Content-Type', 'text/plain').send(message);
        assert.equal(response.status, 200);
      }
      const codes = new Map<string, number>();
      for (const file of partitionFiles(t.config.dataDir)) {
        const db = new Database(join(t.config.dataDir, 'partitions', file), { readonly: true });
        try {
          const rows = db.prepare(`SELECT message, format FROM "${file.slice(0, -3)}" WHERE format IS NOT NULL`).all() as { message: string; format: number }[];
          for (const row of rows) codes.set(row.message, row.format);
        } finally {
          db.close();
        }
      }
      assert.equal(codes.get(access), 1);
      assert.equal(codes.get(error), 2);
    } finally {
      await t.close();
    }
  });

  it('written before counts were kept have their counts made when opened, from their lines', async () => {
    const dataDir = tempDataDir();
    try {
      let t = await startTestApp({ dataDir });
      const now = t.clock.now();
      await ingestLines(t.http, [{ ts: now - 30 * MINUTE, message: 'old file', level: 'error' }, { ts: now - 20 * MINUTE, message: 'old file' }]);
      await t.close();
      for (const file of partitionFiles(dataDir)) {
        const db = new Database(join(dataDir, 'partitions', file));
        db.exec('DROP TABLE line_counts');
        db.close();
      }
      t = await startTestApp({ dataDir });
      const response = await t.http.get('/api/v1/stats').query({ format: 'json', since: '1h', step: '1h' });
      assert.deepEqual((response.body as { buckets: { counts: object }[] }).buckets.map((b) => b.counts), [{ info: 1, error: 1 }, {}]);
      await t.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
