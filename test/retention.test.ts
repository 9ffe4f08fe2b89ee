import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { join, sep } from 'node:path';
import { describe, it } from 'node:test';
import { LOG_STORE, LogStore } from '@daylog/storage';
import { RetentionService } from '../apps/aggregator/src/retention/retention.service';
import { HOUR, MINUTE, ManualClock, TEST_ENGINE, TestApp, queryJson, startTestApp, tempDataDir } from './support/test-app';

function dirBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? dirBytes(path) : statSync(path).size;
  }
  return total;
}

const partitionFiles = (dataDir: string) => readdirSync(join(dataDir, 'partitions')).sort();
const storageStats = (t: TestApp) => t.app.get<symbol, LogStore>(LOG_STORE).stats();

/** 200-byte messages, the size of an nginx access line, so that the files have a size worth measuring. */
function batch(pod: string, count: number, ts: number) {
  const lines = Array.from({ length: count }, (_, i) => ({
    ts: ts + i,
    message: `10.0.0.${i % 255} - - "GET /api/items/${i} HTTP/1.1" 200 ${1000 + i} "-" "Mozilla/5.0 (X11; Linux x86_64)" ${'x'.repeat(90)}`,
  }));
  return { labels: { namespace: 'shop', pod }, lines };
}

async function send(t: TestApp, body: object, key?: string) {
  const request = t.http.post('/api/v1/logs');
  if (key) void request.set('Idempotency-Key', key);
  const response = await request.send(body);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return response.body as { accepted: number; duplicate: boolean };
}

describe('retention', () => {
  it('hides, then drops, lines past the retention and gives their space back (on SQLite, WAL included)', async () => {
    const dataDir = tempDataDir();
    const t = await startTestApp({ dataDir });
    const sqlite = TEST_ENGINE === 'sqlite';
    try {
      const start = t.clock.now();
      await send(t, batch('old', 3000, start - 2 * HOUR), 'key-old-08h');
      await send(t, batch('old', 3000, start - HOUR), 'key-old-09h');
      await send(t, batch('old', 3000, start), 'key-old-10h');
      assert.equal((await storageStats(t)).partitions, 3);
      if (sqlite) {
        assert.deepEqual(partitionFiles(dataDir).filter((f) => f.endsWith('.db')), [
          'logs_20261124T080000Z.db',
          'logs_20261124T090000Z.db',
          'logs_20261124T100000Z.db',
        ]);
      }

      t.clock.advance(23 * HOUR);
      assert.equal((await queryJson(t.http, { pod: 'old', limit: '5000' })).lines.length, 5000);
      assert.equal((await queryJson(t.http, { pod: 'old', from: '2026-11-24T00:00:00Z', limit: '5000' })).lines.length, 5000);

      t.clock.advance(2 * HOUR);
      await send(t, batch('new', 10, t.clock.now()));
      assert.deepEqual((await queryJson(t.http, { pod: 'old' })).lines, [], 'old lines are hidden before the pruner runs');
      assert.deepEqual((await queryJson(t.http, { pod: 'old', direction: 'forward', from: '2026-11-24T00:00:00Z' })).lines, []);

      // The data dir on SQLite; on PostgreSQL, what the database counts (every partition's tables and the label sets).
      const bytes = async () => (sqlite ? dirBytes(dataDir) : (await storageStats(t)).bytes);
      const before = await bytes();
      const retention = t.app.get(RetentionService);
      const [result] = await Promise.all([retention.prune(), send(t, batch('during-prune', 10, t.clock.now()))]);
      const partitionNames = sqlite
        ? ['logs_20261124T080000Z', 'logs_20261124T090000Z', 'logs_20261124T100000Z']
        : ['logs_20261124_080000', 'logs_20261124_090000', 'logs_20261124_100000'];
      assert.deepEqual(result, { droppedPartitions: partitionNames, droppedLines: 9000 });
      if (sqlite) assert.deepEqual(partitionFiles(dataDir), ['logs_20261125T110000Z.db', 'logs_20261125T110000Z.db-shm', 'logs_20261125T110000Z.db-wal']);
      const afterPrune = await bytes();
      assert.ok(afterPrune < before / 4, `storage went from ${before} to ${afterPrune} bytes`);
      assert.equal((await storageStats(t)).partitions, 1);
      assert.equal((await queryJson(t.http, { pod: 'during-prune' })).lines.length, 10, 'ingest went on while pruning');

      const resent = await send(t, batch('old', 3, t.clock.now()), 'key-old-10h');
      assert.deepEqual(resent, { accepted: 3, rejected: [], duplicate: false }, 'the idempotency key went with its partition');
    } finally {
      await t.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects a line older than the retention after a prune, by its index', async () => {
    const t = await startTestApp();
    try {
      t.clock.advance(25 * HOUR);
      await t.app.get(RetentionService).prune();
      const response = await t.http.post('/api/v1/logs').send(batch('late', 1, t.clock.now() - 24 * HOUR - MINUTE));
      assert.equal(response.status, 400);
      assert.equal(response.body.rejected[0].reason, 'ts is older than the retention');
    } finally {
      await t.close();
    }
  });
});

describe('the pruner on its interval', () => {
  it('drops expired partitions by itself, within two prune intervals', async () => {
    const t = await startTestApp({ env: { DAYLOG_PRUNE_INTERVAL: '1s' } });
    try {
      await send(t, batch('timer', 10, t.clock.now()));
      assert.equal((await storageStats(t)).partitions, 1);
      t.clock.advance(25 * HOUR);
      // On SQLite the files go after the catalogue forgets them, off the writer's path.
      const filesLeft = () => (TEST_ENGINE === 'sqlite' ? partitionFiles(t.config.dataDir) : []);
      const deadline = Date.now() + 2500;
      while (((await storageStats(t)).partitions > 0 || filesLeft().length > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await storageStats(t)).partitions, 0);
      assert.deepEqual(filesLeft(), [], 'their files removed');
    } finally {
      await t.close();
    }
  });
});

describe('idempotency keys of late batches', () => {
  it('remembers a key for the whole retention after the batch arrived, even when its lines were old', async () => {
    const t = await startTestApp();
    try {
      const old = batch('catching-up', 2, t.clock.now() - 23 * HOUR);
      assert.equal((await send(t, old, 'late-key')).accepted, 2);
      t.clock.advance(3 * HOUR);
      await t.app.get(RetentionService).prune();
      assert.deepEqual(await send(t, batch('catching-up', 1, t.clock.now()), 'late-key'), { accepted: 0, rejected: [], duplicate: true });
      const identical = await t.http.post('/api/v1/logs').set('Idempotency-Key', 'late-key').send(old);
      assert.deepEqual(identical.body, { accepted: 0, rejected: [], duplicate: true });
      assert.deepEqual((await queryJson(t.http, { pod: 'catching-up' })).lines, []);
    } finally {
      await t.close();
    }
  });
});

describe('label sets after a prune', () => {
  it('never gives a forgotten label set\'s id to a new one', async () => {
    const t = await startTestApp();
    try {
      const start = t.clock.now();
      await send(t, batch('steady', 1, start));
      await send(t, batch('gone', 1, start));
      t.clock.advance(23 * HOUR);
      await send(t, batch('steady', 1, t.clock.now()));
      assert.equal((await queryJson(t.http, { namespace: 'shop', limit: '10' })).lines.length, 3);
      t.clock.advance(2 * HOUR);
      await t.app.get(RetentionService).prune();
      await send(t, batch('fresh', 1, t.clock.now()));
      const fresh = await queryJson(t.http, { pod: 'fresh' });
      assert.deepEqual(fresh.lines.map((line) => line.pod), ['fresh']);
      const all = await queryJson(t.http, { namespace: 'shop' });
      assert.deepEqual(all.lines.map((line) => line.pod).sort(), ['fresh', 'steady']);
    } finally {
      await t.close();
    }
  });
});

describe('many small partitions', () => {
  it('keeps a bounded number of files open while a query reads a day of one-minute partitions', async () => {
    const t = await startTestApp({ env: { DAYLOG_PARTITION: '1m' } });
    try {
      const minutes = 400;
      for (let minute = 0; minute < minutes; minute += 50) {
        const lines = Array.from({ length: 50 }, (_, i) => ({ ts: t.clock.now() - (minute + i + 1) * MINUTE, message: `minute ${minute + i}` }));
        await send(t, { labels: { pod: 'minutes' }, lines });
      }
      const { lines } = await queryJson(t.http, { pod: 'minutes', limit: '5000' });
      assert.equal(lines.length, minutes);
      const partitionDescriptors = () =>
        readdirSync('/proc/self/fd').filter((fd) => {
          try {
            // Files in the folder, not the folder itself, which a listing of it holds open for a moment.
            return readlinkSync(join('/proc/self/fd', fd)).includes(join(t.config.dataDir, 'partitions') + sep);
          } catch {
            return false;
          }
        }).length;
      // Three descriptors a connection (file, WAL, shared memory): 64 readers, and what the writer thread holds
      // meanwhile: its 4 open partitions plus the one it opens before closing the oldest, and the rewrite of
      // these closed minutes, which runs while the query reads and after (a source and a target at a time, and
      // the files of generations it replaced until the readers let go of them). Under load, counts while files
      // were being opened and closed reached 212, and once (CI under faketime) 260 for 5 s: what must hold is
      // that they come down to a bound, far below the query's 400 partitions' 1,200 without one.
      const bound = 64 * 3 + 32 * 3;
      const deadline = Date.now() + 5_000;
      let open = partitionDescriptors();
      while (open > bound && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        open = partitionDescriptors();
      }
      assert.ok(open <= bound, `${open} partition files open`);
    } finally {
      await t.close();
    }
  });
});

describe('restart on the same data dir', () => {
  it('keeps every line, label and idempotency key', async () => {
    const dataDir = tempDataDir();
    const clock = new ManualClock();
    const first = await startTestApp({ dataDir, clock });
    await send(first, batch('kept', 500, clock.now() - HOUR), 'restart-key');
    await send(first, batch('kept', 500, clock.now() - MINUTE));
    const stored = await queryJson(first.http, { pod: 'kept', limit: '5000', format: 'json' });
    await first.close();

    const second = await startTestApp({ dataDir, clock });
    try {
      assert.deepEqual(await queryJson(second.http, { pod: 'kept', limit: '5000', format: 'json' }), stored);
      assert.equal(stored.lines.length, 1000);
      assert.deepEqual(await send(second, batch('kept', 500, clock.now() - HOUR), 'restart-key'), {
        accepted: 0,
        rejected: [],
        duplicate: true,
      });
      await send(second, batch('kept', 1, clock.now()));
      assert.equal((await queryJson(second.http, { pod: 'kept', limit: '5000' })).lines.length, 1001);
    } finally {
      await second.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
