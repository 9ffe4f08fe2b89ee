import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { PAYMENTS_WRITER, SHOP_WRITER, bearer, metric, newPods } from './support/label-set-helpers';
import { HOUR, TestApp, startTestApp } from './support/test-app';

const catalogueWal = (t: TestApp) => join(t.config.dataDir, 'catalogue.db-wal');

/** Transactions in a WAL file since it was last reset: frames that end one, under the WAL header's salt. */
function walCommits(file: string): number {
  const wal = readFileSync(file);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== wal.readUInt32BE(16) || wal.readUInt32BE(at + 12) !== wal.readUInt32BE(20)) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return commits;
}

describe('a flood of new label sets', () => {
  it("from a shop token neither fills the disk nor costs the payments team its older hours (DAYLOG_MAX_DISK)", async () => {
    const t = await startTestApp({
      env: { DAYLOG_MAX_DISK: '16M', DAYLOG_INGEST_TOKENS: `${SHOP_WRITER}=shop,${PAYMENTS_WRITER}=payments` },
    });
    try {
      const now = t.clock.now();
      for (const hoursAgo of [3, 2, 1]) {
        const lines = Array.from({ length: 100 }, (_, i) => ({ ts: now - hoursAgo * HOUR + i, message: `payment ${i}` }));
        const response = await t.http.post('/api/v1/logs').set(bearer(PAYMENTS_WRITER)).send({ labels: { namespace: 'payments', pod: 'ledger-1' }, lines });
        assert.equal(response.status, 200);
      }

      for (let round = 0; round < 4; round++) {
        const flood = await t.http.post('/api/v1/logs').set(bearer(SHOP_WRITER)).send(newPods(`rollout-${round}`, 1000));
        assert.equal(flood.status, 200, JSON.stringify(flood.body));
      }
      const walBytes = statSync(catalogueWal(t)).size;
      assert.ok(walBytes <= 1024 ** 2, `the catalogue's WAL holds ${walBytes} bytes after 4000 new label sets`);

      const payments = await t.http.post('/api/v1/logs').set(bearer(PAYMENTS_WRITER)).send([{ namespace: 'payments', pod: 'ledger-1', message: 'still taken' }]);
      assert.deepEqual(payments.body, { accepted: 1, rejected: [], duplicate: false });
      const stats = await t.http.get('/api/v1/stats').query({ namespace: 'payments', from: new Date(now - 4 * HOUR).toISOString(), format: 'json' });
      assert.equal(stats.body.total, 301, "every payments line is kept, its older hours' too");
      assert.equal(await metric(t, 'daylog_pruned_early_partitions_total'), 0);
    } finally {
      await t.close();
    }
  });

  it('writes the new label sets of a batch to the catalogue in one transaction, not one each', async () => {
    const t = await startTestApp();
    try {
      assert.equal((await t.http.post('/api/v1/logs').send(newPods('first', 1))).status, 200);
      const before = walCommits(catalogueWal(t));
      assert.equal((await t.http.post('/api/v1/logs').send(newPods('many', 500))).status, 200);
      assert.equal(walCommits(catalogueWal(t)) - before, 1);
      assert.equal((await t.http.get('/api/v1/labels/pod').query({ format: 'json' })).body.values.length, 501);
    } finally {
      await t.close();
    }
  });
});

