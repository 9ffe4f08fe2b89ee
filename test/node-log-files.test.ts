import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { gzippedFingerprint, unpackFrom } from '../libs/shipper/src/node/gzipped-log';
import { FIRST_RECORD_BYTES, isWholeFingerprint, readRecordFingerprint, recordFingerprint } from '../libs/shipper/src/node/record-fingerprint';

const dir = mkdtempSync(join(tmpdir(), 'daylog-node-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** json-file records: the message first, the time last. */
const docker = (log: string, time: string) => `${JSON.stringify({ log, stream: 'stdout', time })}\n`;

describe("a node's log file: its fingerprint and its gzipped copy", () => {
  it('tells apart json-file logs that begin with the same text, by their first whole record', () => {
    const piece = `${'x'.repeat(200)}`;
    const one = Buffer.from(docker(piece, '2026-12-05T10:00:00.000000001Z') + docker('next\n', '2026-12-05T10:00:00.1Z'));
    const two = Buffer.from(docker(piece, '2026-12-05T10:00:07.000000001Z'));
    assert.equal(one.subarray(0, 64).toString(), two.subarray(0, 64).toString(), 'the first 64 bytes alike');
    assert.ok(isWholeFingerprint(recordFingerprint(one)) && isWholeFingerprint(recordFingerprint(two)));
    assert.notEqual(recordFingerprint(one), recordFingerprint(two));
    // The same file read again, longer: the same fingerprint.
    assert.equal(recordFingerprint(one), recordFingerprint(Buffer.concat([one, Buffer.from(docker('more\n', '2026-12-05T10:00:01Z'))])));
  });

  it('is a prefix of its final self while the first record is not whole, and final past FIRST_RECORD_BYTES without a newline', () => {
    const record = Buffer.from(docker('y'.repeat(1000), '2026-12-05T10:00:00Z'));
    for (const cut of [0, 1, 63, 64, 65, 500, record.length - 1]) {
      const early = recordFingerprint(record.subarray(0, cut));
      assert.ok(!isWholeFingerprint(early), `cut at ${cut}`);
      assert.ok(recordFingerprint(record).startsWith(early), `cut at ${cut}`);
    }
    const endless = Buffer.alloc(FIRST_RECORD_BYTES + 10, 'z');
    assert.ok(isWholeFingerprint(recordFingerprint(endless)));
    assert.equal(recordFingerprint(endless), recordFingerprint(endless.subarray(0, FIRST_RECORD_BYTES)));
  });

  it('takes the same fingerprint from a .gz as from the file it was, and unpacks only the first record and the part from an offset', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => `2026-12-05T10:00:00.${String(i).padStart(9, '0')}Z stdout F line ${i} ${'w'.repeat(i % 13)}\n`).join('');
    const content = Buffer.from(lines);
    const plain = join(dir, '0.log.20261205-100000');
    writeFileSync(plain, content);
    writeFileSync(`${plain}.gz`, gzipSync(content));
    const handle = await open(plain, 'r');
    const fingerprint = await readRecordFingerprint(handle);
    await handle.close();
    assert.equal(await gzippedFingerprint(`${plain}.gz`), fingerprint);

    const offset = content.indexOf('line 4000 ');
    const target = join(dir, 'unpacked.log');
    await unpackFrom(`${plain}.gz`, target, offset);
    const unpacked = readFileSync(target);
    assert.equal(unpacked.length, content.length);
    assert.deepEqual(unpacked.subarray(offset), content.subarray(offset));
    const firstRecordEnd = content.indexOf('\n') + 1;
    assert.deepEqual(unpacked.subarray(0, firstRecordEnd), content.subarray(0, firstRecordEnd));
    const target2 = join(dir, 'unpacked-2.log');
    await unpackFrom(`${plain}.gz`, target2, offset);
    const handle2 = await open(target2, 'r');
    assert.equal(await readRecordFingerprint(handle2), fingerprint);
    await handle2.close();
  });

  it('fails on a damaged .gz, keeping what it unpacked before the damage', async () => {
    const content = Buffer.from(Array.from({ length: 20000 }, (_, i) => `record ${i} ${Math.random()}\n`).join(''));
    const gz = join(dir, 'damaged.gz');
    const packed = gzipSync(content);
    writeFileSync(gz, packed.subarray(0, Math.floor(packed.length / 2)));
    await assert.rejects(unpackFrom(gz, join(dir, 'damaged.log'), 0));
    const kept = readFileSync(join(dir, 'damaged.log'));
    assert.ok(kept.length > 0 && content.subarray(0, kept.length).equals(kept));
  });
});
