import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LogLine } from '@daylog/log-model';
import { AppendBatch } from '@daylog/storage';
import { migrate } from '../libs/storage-sqlite/src/migrator';
import { openDatabase } from '../libs/storage-sqlite/src/partition-schema';
import { CATALOGUE_FILE, PartitionWriter } from '../libs/storage-sqlite/src/partition-writer';
import { HOUR, TestApp, startTestApp, tempDataDir } from './support/test-app';

const LINES_PER_BATCH = 200;
const labels = { namespace: 'shop', pod: 'web-1', container: 'app' };

async function metric(t: TestApp, name: string): Promise<number> {
  const text = (await t.http.get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exposed`);
  return Number(line.split(' ')[1]);
}

/** Lines stored from `fromMs` for an hour, counted by the service. */
async function storedInHour(t: TestApp, fromMs: number): Promise<number> {
  const response = await t.http
    .get('/api/v1/stats')
    .query({ from: new Date(fromMs).toISOString(), to: new Date(fromMs + HOUR - 1).toISOString(), format: 'json' });
  assert.equal(response.status, 200);
  return response.body.total as number;
}

describe('a full disk (DAYLOG_MAX_DISK)', () => {
  let t: TestApp;
  let sent = 0;

  /** A batch of 1 kB lines within the hour starting at `hourMs`, with its own Idempotency-Key, as the shipper sends. */
  const send = (hourMs: number, key = `batch-${sent++}`) =>
    t.http
      .post('/api/v1/logs')
      .set('Idempotency-Key', key)
      .send({
        labels,
        lines: Array.from({ length: LINES_PER_BATCH }, (_, i) => ({ ts: hourMs + sent, message: `${'x'.repeat(1000)} ${key} ${i}` })),
      });

  /** Sends into the hour until a batch is refused; returns the lines acknowledged and the refusal. */
  async function fill(hourMs: number): Promise<{ acked: number; refused: Awaited<ReturnType<typeof send>> }> {
    let acked = 0;
    for (let i = 0; i < 500; i++) {
      const response = await send(hourMs);
      if (response.status !== 200) return { acked, refused: response };
      acked += LINES_PER_BATCH;
    }
    throw new Error('the data directory never filled up');
  }

  before(async () => {
    // Compressing a closed hour gives room back too; these tests count the partitions dropped to make it.
    t = await startTestApp({ env: { DAYLOG_MAX_DISK: '24M', DAYLOG_COMPRESSION: 'off' } });
  });
  after(() => t.close());

  it('refuses a batch whole with a 507 and Retry-After, then drops the oldest partition so that the retried batch is stored', async () => {
    const current = t.clock.now() - (t.clock.now() % HOUR);
    const twoHoursAgo = current - 2 * HOUR;
    for (let i = 0; i < 30; i++) assert.equal((await send(twoHoursAgo)).status, 200);
    const oldLines = 30 * LINES_PER_BATCH;

    const { acked, refused } = await fill(current);
    assert.ok(acked > 0);
    assert.equal(refused.status, 507);
    assert.equal(refused.headers['retry-after'], '5');
    assert.match(refused.body.error, /^the data directory is full: this batch was refused; the oldest partitions are being dropped to make room, retry in a few seconds$/);
    assert.equal(await storedInHour(t, current), acked, 'every acknowledged batch whole, none of the refused one');
    assert.ok((await metric(t, 'daylog_ingest_disk_full_total')) >= 1);

    // The sender retries the same batch, as the shipper does on a 5xx.
    const key = refused.request.getHeader('Idempotency-Key');
    let retried = refused;
    for (let tries = 0; retried.status !== 200 && tries < 50; tries++) {
      await sleep(100);
      sent--;
      retried = await send(current, key);
    }
    assert.equal(retried.status, 200);
    assert.equal(await storedInHour(t, current), acked + LINES_PER_BATCH);
    assert.equal(await storedInHour(t, twoHoursAgo), 0, 'the oldest partition made the room');
    assert.equal(await metric(t, 'daylog_pruned_early_partitions_total'), 1);
    assert.equal(await metric(t, 'daylog_pruned_lines_total'), oldLines);
  });

  it('with only the current partition left, keeps refusing ingest and answering queries, and takes lines again once that partition is no longer current', async () => {
    const current = t.clock.now() - (t.clock.now() % HOUR);
    const { refused } = await fill(current);
    assert.equal(refused.status, 507);
    const stored = await storedInHour(t, current);
    for (let i = 0; i < 3; i++) {
      await sleep(50);
      assert.equal((await send(current)).status, 507, 'nothing to drop: the current hour is kept');
    }
    assert.equal(await storedInHour(t, current), stored);
    const newest = await t.http.get('/api/v1/logs').query({ limit: '2', format: 'json' });
    assert.equal(newest.status, 200);
    assert.equal(newest.body.lines.length, 2);
    assert.equal((await t.http.get('/readyz')).status, 200);

    t.clock.advance(HOUR);
    const next = current + HOUR;
    let response = await send(next);
    for (let tries = 0; response.status !== 200 && tries < 50; tries++) {
      await sleep(100);
      response = await send(next);
    }
    assert.equal(response.status, 200, 'ingest resumed on its own');
    assert.equal(await storedInHour(t, next), LINES_PER_BATCH);
    assert.equal(await metric(t, 'daylog_pruned_early_partitions_total'), 2);
  });
});

describe('a full disk in a group commit', () => {
  it('fails only the batches whose partition could not be written; the others are stored and answered as such', () => {
    const dataDir = tempDataDir();
    const catalogue = openDatabase(join(dataDir, CATALOGUE_FILE), 'normal');
    migrate(catalogue);
    catalogue.close();
    // No room at all: a partition may fill the pages it has, never grow.
    const writer = new PartitionWriter({ dataDir, partitionMs: HOUR, synchronous: 'normal', fullText: false, compression: false, maxDiskBytes: 1, maxLabelSetsPerNamespace: 5000 });
    try {
      const hour = Date.UTC(2026, 10, 24, 8);
      const line = (ts: number, message: string): LogLine => ({ ts, level: 'info', ...labels, source: null, message, fields: null, format: null });
      const batch = (key: string, lines: LogLine[]): AppendBatch => ({ idempotencyKey: key, receivedMs: lines[0].ts, lines });
      const [first] = writer.append([batch('a', [line(hour, 'fits in the pages the new file has')])]);
      assert.deepEqual(first, { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [] });

      const big = Array.from({ length: 2000 }, (_, i) => line(hour + HOUR + i, `${'y'.repeat(500)} ${i}`));
      const [small, large] = writer.append([batch('b', [line(hour + 1, 'still fits')]), batch('c', big)]);
      assert.deepEqual(small, { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [] });
      assert.equal('failure' in large && large.failure.code, 'SQLITE_FULL');
      // The failed batch's key was not kept: its resend is stored, not answered as a duplicate.
      const [again] = writer.append([batch('c', big.slice(0, 1))]);
      assert.deepEqual(again, { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [] });

      // A late batch: its lines fail in their partition, its key had room in the partition of its arrival.
      const late = { idempotencyKey: 'late', receivedMs: hour + 2 * HOUR, lines: big.map((l) => ({ ...l, ts: l.ts - HOUR })) };
      const [refused] = writer.append([late]);
      assert.equal('failure' in refused && refused.failure.code, 'SQLITE_FULL');
      const [resent] = writer.append([{ ...late, lines: late.lines.slice(0, 1) }]);
      assert.deepEqual(resent, { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [] }, 'the refused batch was not taken as stored');
    } finally {
      writer.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
