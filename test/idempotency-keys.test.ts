import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { LogLine } from '@daylog/log-model';
import { AppendBatch } from '@daylog/storage';
import { migrate } from '../libs/storage-sqlite/src/migrator';
import { openDatabase } from '../libs/storage-sqlite/src/partition-schema';
import { CATALOGUE_FILE, PartitionWriter } from '../libs/storage-sqlite/src/partition-writer';
import { HOUR, tempDataDir } from './support/test-app';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

function heapUsed(): number {
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function openWriter(dataDir: string): PartitionWriter {
  const catalogue = openDatabase(join(dataDir, CATALOGUE_FILE), 'normal');
  migrate(catalogue);
  catalogue.close();
  return new PartitionWriter({ dataDir, partitionMs: HOUR, synchronous: 'normal', fullText: false, compression: false, maxDiskBytes: null, maxLabelSetsPerNamespace: 5000 });
}

const hour = Date.UTC(2026, 10, 24, 10);
const line = (ts: number): LogLine => ({ ts, level: 'info', namespace: 'shop', pod: 'web-1', container: null, source: null, message: 'm', fields: null, format: null });
const batch = (key: string, ts = hour): AppendBatch => ({ idempotencyKey: key, receivedMs: ts, lines: [line(ts)] });
/** As long as a shipper's keys, so that holding them would show in the heap. */
const keyOf = (group: number, i: number) => `${'shipper-7c9f8-x2k4q/var/log/nginx/access.log'}:${group}:${i * 4096}-${i * 4096 + 4095}`;

describe('idempotency keys in storage', () => {
  it('holds no key in memory, and recognises every key from the partitions, after a restart too', () => {
    const dataDir = tempDataDir();
    const before = heapUsed();
    let writer = openWriter(dataDir);
    try {
      const groups = 100;
      const perGroup = 1000;
      for (let g = 0; g < groups; g++) {
        const results = writer.append(Array.from({ length: perGroup }, (_, i) => batch(keyOf(g, i), hour + g * 1000)));
        assert.ok(results.every((r) => !('failure' in r) && !r.duplicate && r.accepted === 1));
      }
      const grown = heapUsed() - before;
      // 100,000 keys of ~70 characters would take some 10 MB held in a map.
      assert.ok(grown < 3 * 1024 ** 2, `the heap grew by ${(grown / 1024 ** 2).toFixed(1)} MB with ${groups * perGroup} keys stored`);
      const resent = [keyOf(0, 0), keyOf(50, 500), keyOf(groups - 1, perGroup - 1)];
      assert.deepEqual(writer.append(resent.map((key) => batch(key))).map((r) => 'duplicate' in r && r.duplicate), [true, true, true]);

      writer.close();
      writer = openWriter(dataDir);
      const afterRestart = heapUsed() - before;
      assert.ok(afterRestart < 3 * 1024 ** 2, `a restart read the keys into memory: the heap is ${(afterRestart / 1024 ** 2).toFixed(1)} MB larger`);
      const [again, fresh] = writer.append([batch(keyOf(0, 0)), batch('never-sent')]);
      assert.deepEqual([again, fresh], [
        { duplicate: true, accepted: 0, expired: [], tooManyLabelSets: [] },
        { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [] },
      ]);
    } finally {
      writer.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('finds a key in whichever partition holds it, the oldest included', () => {
    const dataDir = tempDataDir();
    const writer = openWriter(dataDir);
    try {
      for (let h = 0; h < 30; h++) writer.append([batch(`hour-${h}`, hour + h * HOUR)]);
      const resent = writer.append(Array.from({ length: 30 }, (_, h) => batch(`hour-${h}`, hour + 30 * HOUR)));
      assert.deepEqual(resent.map((r) => 'duplicate' in r && r.duplicate), Array(30).fill(true));
      writer.dropBefore(hour + 10 * HOUR);
      const [dropped, kept] = writer.append([batch('hour-9', hour + 30 * HOUR), batch('hour-10', hour + 30 * HOUR)]);
      assert.deepEqual([dropped, kept], [
        { duplicate: false, accepted: 1, expired: [], tooManyLabelSets: [] },
        { duplicate: true, accepted: 0, expired: [], tooManyLabelSets: [] },
      ]);
    } finally {
      writer.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
