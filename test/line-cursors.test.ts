import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { formatTimestamp } from '@daylog/log-model';
import { CursorCodec, CursorPosition } from '@daylog/storage';
import { AesCmac } from '../libs/storage/src/aes-cmac';
import { HOUR, MINUTE, ManualClock, TestApp, WireLineBody, ingestLines, queryJson, startTestApp } from './support/test-app';

const hex = (text: string) => Buffer.from(text.replace(/ /g, ''), 'hex');
/** The messages of RFC 4493's and NIST SP 800-38B's examples: the first 0, 16, 40 and 64 bytes of this. */
const EXAMPLE_TEXT = hex(
  '6bc1bee2 2e409f96 e93d7e11 7393172a ae2d8a57 1e03ac9c 9eb76fac 45af8e51 30c81c46 a35ce411 e5fbc119 1a0a52ef f69f2445 df4f9b17 ad2b417b e66c3710',
);
const EXAMPLES = [
  { aes: 'AES-128 (RFC 4493)', key: hex('2b7e1516 28aed2a6 abf71588 09cf4f3c'), tags: ['bb1d6929e95937287fa37d129b756746', '070a16b46b4d4144f79bdd9dd04a287c', 'dfa66747de9ae63030ca32611497c827', '51f0bebf7e3b9d92fc49741779363cfe'] },
  { aes: 'AES-256 (SP 800-38B)', key: hex('603deb10 15ca71be 2b73aef0 857d7781 1f352c07 3b6108d7 2d9810a3 0914dff4'), tags: ['028962f61b7bf89efc6b551f4667d983', '28a7023f452e8f82bd4bf28d8c37c35c', 'aaf3d8f1de5640c232f5b169b9c911e6', 'e1992190549f6ed5696a2c056c315410'] },
];

describe('AES-CMAC of many messages at once', () => {
  for (const { aes, key, tags } of EXAMPLES) {
    it(`gives the published tags of ${aes}, whole and padded last blocks alike`, () => {
      const cmac = new AesCmac(key);
      [0, 16, 40, 64].forEach((length, i) => assert.equal(cmac.tags(EXAMPLE_TEXT.subarray(0, length), length).toString('hex'), tags[i], `${length} bytes`));
    });
  }

  it('gives each message of a batch the tag it has alone', () => {
    const cmac = new AesCmac(EXAMPLES[1].key);
    const messages = Buffer.concat([EXAMPLE_TEXT.subarray(0, 25), EXAMPLE_TEXT.subarray(20, 45), EXAMPLE_TEXT.subarray(39, 64)]);
    const together = cmac.tags(messages, 25);
    for (let i = 0; i < 3; i++) assert.deepEqual(together.subarray(i * 16, (i + 1) * 16), cmac.tags(messages.subarray(i * 25, (i + 1) * 25), 25));
  });
});

describe("a page's line cursors", () => {
  const codec = new CursorCodec(Buffer.alloc(32, 7));
  const positions: CursorPosition[] = Array.from({ length: 5 }, (_, i) => ({ ts: 1_796_000_000_000 + i, partitionStart: 1_795_998_800_000, id: 1000 + i * 7 }));

  it('are the cursors each line has alone, and each opens to its line', () => {
    const cursors = codec.encodeLines(positions);
    assert.deepEqual(cursors, positions.map((position) => codec.encodeLine(position)));
    assert.deepEqual(cursors.map((cursor) => codec.decodeLine(cursor)), positions.map((position) => ({ position })));
  });

  it('are refused when one bit of them changed, anywhere', () => {
    const bytes = Buffer.from(codec.encodeLine(positions[0]), 'base64url');
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      const changed = Buffer.from(bytes);
      changed[bit >> 3] ^= 1 << (bit & 7);
      assert.ok('problem' in codec.decodeLine(changed.toString('base64url')), `bit ${bit}`);
    }
  });
});

/**
 * A line cursor as Daylog gave them out before a page's were signed together (HMAC-SHA256, one at a time), made
 * with CURSOR_SECRET for the one line the test stores: a context link saved then still opens.
 */
const CURSOR_SECRET = 'a cursor secret the test fixes, 32+ characters';
const HMAC_SIGNED_LINE_CURSOR = 'AgAAAaIM_pKgJ_GKYsRCcOB8FPG-NYKD9SaZRNZI15tCnP_ARw';

describe('a line cursor given out before line cursors were signed a page at a time', () => {
  let t: TestApp;
  const clock = new ManualClock();
  const stored: CursorPosition = { ts: clock.now() - MINUTE, partitionStart: clock.now() - HOUR, id: 1 };

  before(async () => {
    t = await startTestApp({ clock, env: { DAYLOG_CURSOR_SECRET: CURSOR_SECRET } });
    await ingestLines(t.http, [{ ts: stored.ts, message: 'the line a saved link points at' }], { namespace: 'shop', pod: 'web-1', container: 'nginx' });
  });
  after(() => t.close());

  it('still opens its context', async () => {
    const { lines } = await queryJson(t.http, { pod: 'web-1' });
    assert.deepEqual(t.app.get(CursorCodec).decodeLine(lines[0].cursor), { position: stored });
    assert.notEqual(lines[0].cursor, HMAC_SIGNED_LINE_CURSOR);
    const response = await t.http.get('/api/v1/logs/context').query({ cursor: HMAC_SIGNED_LINE_CURSOR, format: 'json' });
    assert.equal(response.status, 200);
    assert.deepEqual((response.body as { line: WireLineBody }).line, lines[0]);
  });
});

describe("a line's time as JSON answers write it", () => {
  it('is what toISOString writes, in the minute written last or another, before 1970 and after 9999 alike', () => {
    const minute = Date.UTC(2026, 10, 24, 9, 59);
    const times = [minute, minute + 1, minute + 9, minute + 10, minute + 99, minute + 100, minute + 59_999, minute + 60_000, minute - 1, minute + 61_001];
    times.push(Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), 0, -1, -59_999, -60_000, -60_001, 8.64e15, -8.64e15, 253_402_300_800_123);
    for (let i = 0; i < 2000; i++) times.push(minute + Math.floor(Math.sin(i) * 200_000));
    for (const ms of times) assert.equal(formatTimestamp(ms), new Date(ms).toISOString(), String(ms));
  });
});
