import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseMatchExpression, tokens } from '@daylog/log-model';
import { blockWordQuery, blockWords, mayHoldAll } from '../libs/storage-sqlite/src/block-words';

const PIECES = ['needle-7f3a', 'order42', 'id=4200', '10.0.0.1', 'GET', 'timeout', 'Café', '日本語3', 'x9', 'ñ2ñ', '٣٤', 'abc', 'ABC123def'];
const messageArb = fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 8 }), fc.string({ unit: 'binary', maxLength: 6 })), { maxLength: 8 }).map((parts) => parts.join(' '));

describe("a block's word index", () => {
  it('finds every word of every line: words of letters in the full-text document, the others in the Bloom filter', () => {
    fc.assert(
      fc.property(fc.array(messageArb, { minLength: 1, maxLength: 40 }), (messages) => {
        const { letters, withDigits } = blockWords(messages);
        const document = new Set(letters.split(' '));
        for (const message of messages) {
          for (const word of tokens(message)) {
            const expression = parseMatchExpression(word);
            assert.ok(typeof expression !== 'string');
            const query = blockWordQuery(expression);
            for (const term of query.letters?.split(' AND ') ?? []) assert.ok(document.has(JSON.parse(term) as string), `${term} in the document`);
            assert.ok(mayHoldAll(withDigits, query.withDigits), `${query.withDigits.join(' ')} in the Bloom filter`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
