import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IngestRequestEncoder, LabelledLine } from '@daylog/shipper';

/** Any text: JSON's escapes, every plane of UTF-8, and lone surrogates, which JSON.stringify escapes. */
const textArb = fc.string({
  unit: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }), fc.constantFrom('"', '\\', '\n', '\r', '\t', '\b', '\f', '\u0000', '\u001f', '\u007f', '\u2028', 'é', '€', '😀', '\ud800', '\udfff')),
  maxLength: 30,
});

const lineArb: fc.Arbitrary<LabelledLine> = fc.record(
  {
    ts: fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double(), textArb),
    level: fc.constantFrom('debug', 'info', 'warn', 'error' as const),
    message: textArb,
    fields: fc.dictionary(textArb, fc.oneof(textArb, fc.integer(), fc.boolean()), { maxKeys: 3 }),
    format: fc.constantFrom('nginx-access', 'nginx-error' as const),
    source: fc.constantFrom('stdout', 'stderr', 'access.log'),
  },
  { requiredKeys: ['message', 'source'] },
);

describe('the ingest request of a batch', () => {
  it('writes a JSON batch byte for byte as JSON.stringify writes each line', () => {
    const encoder = new IngestRequestEncoder();
    const labels = { namespace: 'shop', pod: 'web-0', container: 'nginx' };
    fc.assert(
      fc.property(fc.array(lineArb, { minLength: 1, maxLength: 8 }), fc.boolean(), (drawn, shareFields) => {
        // The node agent's lines share their file's fields object.
        const shared = { pod_uid: '3f5c2a4e', restart: 0 };
        const lines = drawn.map((line) => (shareFields && line.fields ? { ...line, fields: shared } : line));
        const request = encoder.encode(labels, lines);
        if (request.contentType !== 'application/json') return;
        const oneSource = lines.every((line) => line.source === lines[0].source);
        const batchLabels = oneSource ? { ...labels, source: lines[0].source } : labels;
        const expected = `{"labels":${JSON.stringify(batchLabels)},"lines":[${lines
          .map(({ ts, level, message, fields, format, source }) => JSON.stringify({ ts, level, message, fields, format, source: oneSource ? undefined : source }))
          .join(',')}]}`;
        assert.equal(request.body.toString('utf8'), expected);
        assert.ok(request.body.equals(Buffer.from(expected)));
      }),
      { numRuns: 3000 },
    );
  });
});
