import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LabelSet, MinuteCounts, PartitionBounds, keyFilings, labelSetKey, namespaceOfLabelSetKey, partitionName, roomForLabelSets } from '@daylog/storage';

// The rules every engine writes by, each written once in the core. That each engine follows them is tested through its
// writes: retention, label-sets, hostile-input and stats on SQLite; postgres-writes, and hostile-input and stats in
// test/postgres-suite.sh, on PostgreSQL.

const minute = Date.UTC(2026, 10, 24, 10, 7);
const HOUR = 3_600_000;

function hourAt(startMs: number): PartitionBounds {
  return { startMs, endMs: startMs + HOUR, name: partitionName(startMs) };
}

describe('where an idempotency key is filed', () => {
  const hour = Date.UTC(2026, 10, 24, 10);
  const newestLine = { ts: hour + 5_000, partition: hourAt(hour) };

  it('is with the batch\'s newest line alone when the batch arrived in that partition', () => {
    assert.deepEqual(keyFilings(newestLine, { ts: hour + 9_000, partition: hourAt(hour) }), [newestLine]);
  });

  it('is with the newest line and again under the arrival when a sender catches up on older lines', () => {
    const arrival = { ts: hour + 3 * HOUR, partition: hourAt(hour + 3 * HOUR) };
    assert.deepEqual(keyFilings(newestLine, arrival), [newestLine, arrival]);
  });

  it('is with the newest line alone when the arrival is older (a sender whose clock runs ahead) or in no live partition', () => {
    assert.deepEqual(keyFilings(newestLine, { ts: hour - 1, partition: hourAt(hour - HOUR) }), [newestLine]);
    assert.deepEqual(keyFilings(newestLine, undefined), [newestLine]);
  });
});

describe('per-minute counts', () => {
  it('count lines per minute, label set and severity, each with its newest time, in the order first met', () => {
    const counts = new MinuteCounts();
    counts.add(minute + 30_000, 1, 2);
    counts.add(minute, 1, 2);
    counts.add(minute + 59_999, 2, 2);
    counts.add(minute + 10_000, 1, 4);
    counts.add(minute + 60_000, 1, 2);
    counts.add(minute + 59_000, 1, 2);
    assert.deepEqual(counts.rows(), [
      { minute, labelSetId: 1, severity: 2, lines: 3, lastTs: minute + 59_000 },
      { minute, labelSetId: 2, severity: 2, lines: 1, lastTs: minute + 59_999 },
      { minute, labelSetId: 1, severity: 4, lines: 1, lastTs: minute + 10_000 },
      { minute: minute + 60_000, labelSetId: 1, severity: 2, lines: 1, lastTs: minute + 60_000 },
    ]);
  });

  it('keep apart label sets and severities whose digits would read alike run together', () => {
    const counts = new MinuteCounts();
    counts.add(minute, 12, 3);
    counts.add(minute, 1, 23);
    assert.equal(counts.rows().length, 2);
  });
});

describe("a label set's key", () => {
  const labels: LabelSet = { namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'access.log' };

  it('is the same for a line and for its stored row, where a missing label is an empty string', () => {
    const line: LabelSet = { namespace: null, pod: 'web-1', container: null, source: null };
    assert.equal(labelSetKey(line), labelSetKey({ namespace: '', pod: 'web-1', container: '', source: '' }));
    assert.equal(namespaceOfLabelSetKey(labelSetKey(line)), '');
  });

  it('tells every label set apart, however their labels would run together', () => {
    const alike: LabelSet[] = [
      labels,
      { ...labels, namespace: 'shopweb-1', pod: '' },
      { ...labels, pod: 'web-1nginx', container: '' },
      { ...labels, container: 'nginxaccess.log', source: '' },
      { ...labels, container: null },
      { ...labels, source: null },
    ];
    assert.equal(new Set(alike.map(labelSetKey)).size, alike.length);
  });

  it('gives back its namespace', () => {
    assert.equal(namespaceOfLabelSetKey(labelSetKey(labels)), 'shop');
  });
});

describe('room for label sets in a namespace', () => {
  it('takes new label sets while the namespace has fewer than the most allowed, and none past it', () => {
    assert.deepEqual([0, 1, 4, 5, 6].map((inNamespace) => roomForLabelSets(inNamespace, 5)), [5, 4, 1, 0, 0]);
  });
});
