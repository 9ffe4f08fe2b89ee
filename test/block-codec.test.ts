import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BlockLine, DecodedBlock, compressBlock } from '../libs/storage-sqlite/src/block-codec';

/** Pieces of nginx access lines and of lines that nearly are: spaces, quotes, brackets and newlines in the wrong places. */
const PIECES = ['10.0.0.1', '-', 'bob', '[24/Nov/2026:10:00:00 +0000]', '[]', '"GET /pay HTTP/1.1"', '""', '"', '200', '5120', '"-"', '"curl/8 (x; y)"', ' rt=0.004', '\n', ' ', 'ünï', '日本', '\u0000', '[', ']'];

const accessArb = fc
  .record({
    addr: fc.constantFrom('10.0.0.1', '::1', '-', 'ünï'),
    user: fc.constantFrom('-', 'bob'),
    time: fc.constantFrom('24/Nov/2026:10:00:00 +0000', '24/Nov/2026:10:00:01 +0000', 'x'),
    request: fc.constantFrom('GET /pay HTTP/1.1', '', '-', 'POST /a?b=c HTTP/2.0', 'ü "'),
    status: fc.constantFrom('200', '404', '-'),
    bytes: fc.constantFrom('0', '5120', '-'),
    referer: fc.constantFrom('-', 'https://shop.example.com/', ''),
    agent: fc.constantFrom('curl/8', 'Mozilla/5.0 (X11; Linux x86_64)', ''),
    rest: fc.constantFrom('', ' 0.004', ' rt=0.123', ' ü', ' \n'),
  })
  .map((p) => `${p.addr} - ${p.user} [${p.time}] "${p.request}" ${p.status} ${p.bytes} "${p.referer}" "${p.agent}"${p.rest}`);

const messageArb = fc.oneof(accessArb, fc.array(fc.constantFrom(...PIECES), { maxLength: 8 }).map((pieces) => pieces.join(' ')), fc.string(), fc.string({ unit: 'binary' }));

const linesArb = fc.array(
  fc.record({
    tsStep: fc.constantFrom(0, 0, 1, 7, 60_000),
    idStep: fc.integer({ min: -5, max: 1000 }),
    severity: fc.integer({ min: 0, max: 5 }),
    message: messageArb,
    fields: fc.option(fc.constantFrom('{"a":1}', '{"ü":"日本"}', '{}'), { nil: null }),
    format: fc.option(fc.constantFrom(1, 2), { nil: null }),
  }),
  { minLength: 1, maxLength: 300 },
);

describe('a block of lines, compressed and read back', () => {
  it('gives back every line as it was: times, ids, levels, fields, formats and messages byte for byte', () => {
    fc.assert(
      fc.property(linesArb, fc.integer({ min: 1, max: 2 ** 45 }), (drawn, firstTs) => {
        let ts = firstTs;
        let id = 1000;
        const lines: BlockLine[] = drawn.map((line) => {
          ts += line.tsStep;
          id = Math.max(1, id + line.idStep);
          return { id, ts, severity: line.severity, message: line.message, fields: line.fields, format: line.format };
        });
        const { data, payloadBytes } = compressBlock(lines);
        const block = DecodedBlock.inflate(data, payloadBytes);
        assert.equal(block.length, lines.length);
        assert.deepEqual(
          lines.map((_, i) => ({ ...block.row(i, 7), labelSetId: undefined })),
          lines.map((line) => ({ ...line, labelSetId: undefined })),
        );
        assert.equal(block.text, lines.map((line) => line.message).join(''));
      }),
      { numRuns: 300 },
    );
  });
});
