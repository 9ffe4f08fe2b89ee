import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OutgoingLine } from '../libs/shipper/src/aggregator-client';
import { cutWhereNoLineLeftOutBegan } from '../libs/shipper/src/batch-cut';

type Span = Pick<OutgoingLine, 'startOffset' | 'endOffset'>;

/** Pending lines in the order of their ends, each `[start, end]`. */
const pending = (...spans: [number, number][]): Span[] => spans.map(([startOffset, endOffset]) => ({ endOffset, startOffset }));

describe("a batch's end", () => {
  it('is where it was asked when no line left out began before it', () => {
    assert.equal(cutWhereNoLineLeftOutBegan(pending([0, 10], [10, 20], [20, 30]), 2, 3), 2);
  });

  it('takes in a line in pieces whose first piece lies before a line of the other stream that ends first', () => {
    // stdout P at 0, stderr F 10–20, stdout F 20–30: the stdout line ends last but begins first.
    const lines = pending([10, 20], [0, 30], [30, 40]);
    assert.equal(cutWhereNoLineLeftOutBegan(lines, 1, 3), 2);
    assert.equal(cutWhereNoLineLeftOutBegan(lines, 3, 3), 3);
  });

  it('is moved back rather than past a line left out', () => {
    const lines = pending([0, 10], [20, 30], [10, 40], [40, 50]);
    assert.equal(cutWhereNoLineLeftOutBegan(lines, 2, 4), 1);
  });

  it('is none while the line that would end it has not settled', () => {
    assert.equal(cutWhereNoLineLeftOutBegan(pending([10, 20], [0, 30]), 1, 1), 0);
  });

  it("leaves the sidecar's lines, which end in order and carry no start, as asked", () => {
    const lines: Span[] = [10, 20, 30].map((endOffset) => ({ endOffset }));
    assert.equal(cutWhereNoLineLeftOutBegan(lines, 2, 3), 2);
  });
});
