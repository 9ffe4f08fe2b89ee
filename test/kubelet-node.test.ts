import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { PieceJoiner, RecordReader } from '@daylog/shipper';
import { CONMON_READ_BYTES, CONTAINERD_PIECE_BYTES, FakeNode, Runtime, rotatedName } from './support/kubelet-node';

const NOW = Date.now();
const roots: string[] = [];

function node(runtime: Runtime): FakeNode {
  const root = mkdtempSync(join(tmpdir(), `daylog-kubelet-${runtime}-`));
  roots.push(root);
  return new FakeNode(root, runtime);
}

/** The lines of a container's files, read in order with one joiner, as the node agent reads them. */
function readBack(files: Buffer[]): { stream: string; text: string; tsMs: number | null }[] {
  const joiner = new PieceJoiner<number>({ maxLineBytes: 1024 * 1024, timeoutMs: 1000 });
  const lines: { stream: string; text: string; tsMs: number | null }[] = [];
  files.forEach((content, file) => {
    const reader = new RecordReader();
    let start = 0;
    for (let end = content.indexOf(0x0a); end !== -1; start = end + 1, end = content.indexOf(0x0a, start)) {
      const line = joiner.push(reader.read(content.subarray(start, end)), { file, start, end: end + 1 }, NOW);
      if (line) lines.push({ stream: line.stream, text: line.text, tsMs: line.tsMs });
    }
  });
  return lines;
}

const records = (content: Buffer) => content.toString('latin1').split('\n').filter(Boolean);

describe('the fake node: kubelet and the runtimes as the node agent meets them', () => {
  after(() => {
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });

  it('containerd: pieces of exactly 16384 bytes, a character cut between two, times with trailing zeros trimmed', () => {
    const n = node('containerd');
    const c = n.start({ namespace: 'shop', pod: 'web-1', uid: '3f5c2a4e-8b1d-4c6f-9e2a-7d0b1c3e5f68', container: 'nginx' });
    const long = `${'x'.repeat(CONTAINERD_PIECE_BYTES - 1)}€${'y'.repeat(20_000)}`;
    c.write('stdout', long, NOW);
    c.write('stderr', 'a warning\r', NOW + 1);
    c.write('stdout', '', NOW + 2);
    c.stop();
    assert.equal(c.path, join(n.podsDir, 'shop_web-1_3f5c2a4e-8b1d-4c6f-9e2a-7d0b1c3e5f68', 'nginx', '0.log'));
    const content = readFileSync(c.path);
    const written = records(content);
    assert.deepEqual(written.map((record) => record.split(' ').slice(1, 3).join(' ')), ['stdout P', 'stdout P', 'stdout F', 'stderr F', 'stdout F']);
    assert.match(written[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*[1-9])?Z stdout P /);
    assert.equal(Buffer.byteLength(written[0].split(' ').slice(3).join(' '), 'latin1'), CONTAINERD_PIECE_BYTES);
    assert.deepEqual(readBack([content]), [
      { stream: 'stdout', text: long, tsMs: NOW },
      { stream: 'stderr', text: 'a warning', tsMs: NOW + 1 },
    ]);
  });

  it("CRI-O: a piece wherever conmon's 8 KiB read ends inside a line, local times with nine digits, \\r kept", () => {
    const n = node('cri-o');
    const c = n.start({ namespace: 'shop', pod: 'api-1', uid: '11111111-2222-3333-4444-555555555555', container: 'api' });
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i} ${'z'.repeat(700 + i * 13)}`);
    for (const [i, line] of lines.entries()) c.write('stdout', line, NOW + i);
    c.write('stdout', 'from a tty\r', NOW + 99);
    c.stop();
    const content = readFileSync(c.path);
    const written = records(content);
    assert.ok(written.some((record) => record.includes(' stdout P ')), 'some line straddles two reads');
    assert.match(written[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}\+02:00 stdout [PF] /);
    const pieceBytes = written.filter((record) => record.includes(' stdout P ')).map((record) => record.length - record.indexOf(' P ') - 3);
    assert.ok(pieceBytes.every((bytes) => bytes <= CONMON_READ_BYTES));
    assert.match(written.at(-1)!, / stdout F from a tty\r$/);
    assert.deepEqual(
      readBack([content]).map((line) => line.text),
      [...lines, 'from a tty'],
    );
  });

  it("Docker: json-file records in Docker's folder, reached through the pods folder's link, 16 KiB pieces, Go's escapes", () => {
    const n = node('docker');
    const c = n.start({ namespace: 'shop', pod: 'web-2', uid: 'aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee', container: 'nginx' });
    const long = `<b>${'q'.repeat(40_000)}</b>`;
    c.write('stdout', long, NOW);
    c.write('stderr', 'a & b', NOW + 1);
    c.stop();
    assert.ok(lstatSync(c.path).isSymbolicLink());
    const content = readFileSync(c.path);
    const written = records(content);
    assert.equal(written.length, 4);
    assert.match(written[0], /^\{"log":"\\u003cb\\u003eqqq/);
    assert.match(written[3], /^\{"log":"a \\u0026 b\\n","stream":"stderr","time":"[^"]+Z"\}$/);
    assert.deepEqual(readBack([content]).map((line) => line.text), [long, 'a & b']);
  });

  it("rotates as kubelet does: the previous copy compressed, the current renamed and reopened, a few kept; lines after the rename land in the renamed file until the runtime reopens", () => {
    const n = node('containerd');
    const c = n.start({ namespace: 'shop', pod: 'web-3', uid: '99999999-8888-7777-6666-555555555555', container: 'nginx', restart: 2 });
    const written: string[] = [];
    const write = (text: string, at: number) => {
      c.write('stdout', text, at);
      written.push(text);
    };
    const rotations = [0, 1, 2, 3].map((i) => NOW + i * 10_000);
    write('first', NOW);
    const firstCopy = c.rotate(rotations[0], { reopen: false });
    write('after the rename', NOW + 1);
    assert.equal(existsSync(c.path), false, 'renamed, not yet reopened');
    c.reopen();
    write('in the new file', NOW + 2);
    assert.equal(firstCopy, join(c.dir, rotatedName(2, rotations[0])));
    assert.deepEqual(readBack([readFileSync(firstCopy), readFileSync(c.path)]).map((line) => line.text), written);
    for (const at of rotations.slice(1)) {
      c.rotate(at, { maxFiles: 4 });
      write(`after ${at}`, at + 1);
    }
    c.stop();
    const kept = c.rotatedCopies();
    // Before each rotation kubelet keeps maxFiles - 2 copies: with the current file and the one it renames, maxFiles.
    assert.deepEqual(kept, [`${rotatedName(2, rotations[1])}.gz`, `${rotatedName(2, rotations[2])}.gz`, rotatedName(2, rotations[3])]);
    assert.deepEqual(readdirSync(c.dir).sort(), ['2.log', ...kept].sort());
    const files = kept.map((name) => readFileSync(join(c.dir, name))).map((content, i) => (kept[i].endsWith('.gz') ? gunzipSync(content) : content));
    assert.deepEqual(readBack([...files, readFileSync(c.path)]).map((line) => line.text), written.slice(-4));
  });

  it('a deleted pod: its containers stop and its folder goes', () => {
    const n = node('containerd');
    const c = n.start({ namespace: 'shop', pod: 'gone-1', uid: '12121212-3434-5656-7878-909090909090', container: 'app' });
    c.write('stdout', 'last words', NOW);
    n.deletePod('12121212-3434-5656-7878-909090909090');
    assert.deepEqual(readdirSync(n.podsDir), []);
    assert.throws(() => c.write('stdout', 'after', NOW + 1), /stopped/);
  });
});
