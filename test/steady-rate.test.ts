import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WARM_UP_SHARE, steadyRate } from '../bench/steady-rate';

describe("the bench's ingest rate", () => {
  it("is timed from the end of the first tenth of the batches, over the lines after it", () => {
    assert.equal(WARM_UP_SHARE, 0.1);
    // 20 batches of 1000 lines; the first two slow (a cold process), then one every 10 ms; answered out of order.
    const done = Array.from({ length: 20 }, (_, i) => ({ atMs: i < 2 ? 100 * (i + 1) : 200 + 10 * (i - 1), lines: 1000 }));
    const rate = steadyRate([...done].reverse());
    assert.deepEqual(rate, { lines: 18_000, ms: 180, linesPerSec: 100_000 });
  });

  it('times a run too short to leave any out whole', () => {
    assert.deepEqual(steadyRate([{ atMs: 50, lines: 500 }]), { lines: 500, ms: 50, linesPerSec: 10_000 });
  });
});
