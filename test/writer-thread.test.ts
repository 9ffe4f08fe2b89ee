import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LogLine } from '@daylog/log-model';
import { AppendBatch } from '@daylog/storage';
import { fromWire, toWire } from '../libs/storage-sqlite/src/batch-wire';
import { IdleWorkPace } from '../libs/storage-sqlite/src/idle-work-pace';

const NOW = 1_800_000_000_000;

function line(overrides: Partial<LogLine>): LogLine {
  return { ts: NOW, level: 'info', namespace: 'shop', pod: 'web-1', container: 'nginx', source: 'access.log', message: 'GET /', fields: null, format: null, ...overrides };
}

describe('a batch on its way to the writer thread', () => {
  it('arrives as it was sent: every line with its own labels, fields and format, in order', () => {
    const lines = [
      line({}),
      line({ pod: 'web-2', level: 'error', message: 'boom', ts: NOW + 1 }),
      line({ message: 'back to web-1', fields: { user: 'ann', status: 500, ok: false } }),
      line({ namespace: null, container: null, source: null, message: 'no labels but the pod' }),
      line({ namespace: 'null', message: 'a namespace spelled null is not a missing one' }),
      line({ container: '', format: 'nginx-access', message: '10.0.0.1 - - [x] "GET / HTTP/1.1" 200 1' }),
      line({ pod: 'web-2', message: 'web-2 again, after others', ts: NOW + 0.5 }),
      line({ message: 'ünïcödé \u0000 and a \u001b[31m sequence', level: 'fatal' }),
    ];
    const batch: AppendBatch = { idempotencyKey: 'key-1', receivedMs: NOW + 7, lines, wantPositions: true };
    const received = fromWire(structuredClone(toWire(batch)));
    assert.deepEqual(received, batch);
  });

  it('names each label set once, however its lines are interleaved', () => {
    const lines = Array.from({ length: 1000 }, (_, i) => line({ pod: `web-${i % 3}`, message: `line ${i}` }));
    const wire = toWire({ idempotencyKey: null, receivedMs: NOW, lines });
    assert.equal(wire.labelSets.length, 3);
    assert.deepEqual(fromWire(wire).lines, lines);
  });

  it('keeps an empty batch and the absence of a key', () => {
    const batch: AppendBatch = { idempotencyKey: null, receivedMs: NOW, lines: [], wantPositions: false };
    assert.deepEqual(fromWire(structuredClone(toWire(batch))), batch);
  });
});

describe("the word index's share of a busy writer", () => {
  const SHARE = 0.1;

  it('takes its next chunk at once when no batch waited for the last one', () => {
    const pace = new IdleWorkPace(SHARE);
    pace.chunkDone(1000, 1030, false);
    assert.equal(pace.waitMs(1030), 0);
  });

  it('pauses nine times as long as a chunk that batches waited for took, however long that was', () => {
    for (const chunkMs of [5, 30, 120]) {
      const pace = new IdleWorkPace(SHARE);
      pace.chunkDone(1000, 1000 + chunkMs, true);
      assert.equal(pace.waitMs(1000 + chunkMs), 9 * chunkMs);
      assert.equal(pace.waitMs(1000 + 10 * chunkMs), 0);
    }
  });

  it('forgets a pause once a chunk goes by that nothing waited for', () => {
    const pace = new IdleWorkPace(SHARE);
    pace.chunkDone(1000, 1050, true);
    pace.chunkDone(1500, 1510, false);
    assert.equal(pace.waitMs(1510), 0);
  });
});
