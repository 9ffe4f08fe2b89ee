import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AGGREGATOR_CONNECTIONS } from '@daylog/shipper';
import { FakeContainer, FakeNode, Runtime, Stream } from './support/kubelet-node';
import { ShipperRig, assertExactlyOnce, freePort, startProxy, stateDirOf, startRig, until } from './support/shipper-harness';
import { ShipperProcess, exitOf, probe, startShipper } from './support/shipper-process';
import { WireLineBody, queryJson } from './support/test-app';

let uids = 0;
const newUid = () => `7b1e9c2d-4a5f-4e8b-9c3d-${String(++uids).padStart(12, '0')}`;

/** Longer than a containerd piece (16 KiB): written as `P P F`. */
const LONG = 40_000;

interface Written {
  message: string;
  stream: Stream;
  container: string;
}

/** Writes lines into a fake container with times a millisecond apart, and remembers them in order. */
class Writer {
  readonly lines: Written[] = [];
  private tsMs = Date.now() - 10 * 60_000;
  private count = 0;

  constructor(
    readonly container: FakeContainer,
    private readonly name: string,
  ) {}

  /** `count` lines, stdout and stderr in turn, every `longEvery`-th a long one in pieces. */
  write(count: number, longEvery = 0): void {
    for (let i = 0; i < count; i++) this.one(this.count % 2 === 0 ? 'stdout' : 'stderr', longEvery > 0 && this.count % longEvery === 0);
  }

  /** `count` lines on stderr alone: what may come while a stdout line waits for its last piece. */
  writeStderr(count: number): void {
    for (let i = 0; i < count; i++) this.one('stderr', false);
  }

  /**
   * A long stdout line's pieces but its last, which `finish` writes: a line begun in one file and
   * ended in the next. Until then only stderr may be written (writeStderr).
   */
  begin(): () => void {
    const message = this.message(true);
    const records = this.container.records('stdout', message, (this.tsMs += 1));
    this.container.writeRaw(records.slice(0, -1));
    this.lines.push({ message, stream: 'stdout', container: this.container.ref.container });
    return () => this.container.writeRaw(records.slice(-1));
  }

  private one(stream: Stream, long: boolean): void {
    const message = this.message(long);
    this.container.write(stream, message, (this.tsMs += 1));
    this.lines.push({ message, stream, container: this.container.ref.container });
  }

  private message(long: boolean): string {
    const head = `${this.name} ${String(this.count++).padStart(6, '0')}`;
    return long ? `${head} ${'x'.repeat(LONG)} end` : head;
  }
}

/** Every stored line of a pod, oldest first. */
async function storedLines(rig: ShipperRig, pod: string): Promise<WireLineBody[]> {
  const lines: WireLineBody[] = [];
  let cursor: string | null = null;
  do {
    const page = await queryJson(rig.aggregator.http, { pod, direction: 'forward', limit: '5000', ...(cursor ? { cursor } : {}) });
    lines.push(...page.lines);
    cursor = page.nextCursor;
  } while (cursor);
  return lines;
}

/** A line by its number and length: long lines would drown a failure's message. */
const shown = (message: string): string => `${message.slice(0, 30)}… (${message.length} bytes)`;

/** Waits for every written line, then checks each is stored once, in order per container stream, with its container and stream. */
async function assertAllOnce(rig: ShipperRig, pod: string, written: Written[]): Promise<void> {
  let stored: WireLineBody[] = [];
  // On a time-out the comparison below says which lines are missing.
  await until(`${written.length} lines of ${pod} stored`, async () => (stored = await storedLines(rig, pod)).length >= written.length).catch(() => undefined);
  assertExactlyOnce(
    stored.map((line) => shown(line.message)),
    written.map((line) => shown(line.message)),
  );
  for (const container of new Set(written.map((line) => line.container))) {
    for (const stream of ['stdout', 'stderr'] as const) {
      assert.deepEqual(
        stored.filter((line) => line.container === container && line.source === stream).map((line) => shown(line.message)),
        written.filter((line) => line.container === container && line.stream === stream).map((line) => shown(line.message)),
        `${container} ${stream} in the order written`,
      );
    }
  }
}

/** The offset the agent saved for the file now at `path` (0 if none). */
function savedOffsetOf(stateDir: string, path: string): number {
  try {
    const state = JSON.parse(readFileSync(join(stateDir, 'checkpoints.json'), 'utf8')) as { files: Record<string, { path: string; offset: number }> };
    return Math.max(0, ...Object.values(state.files).filter((c) => c.path === path).map((c) => c.offset));
  } catch {
    return 0;
  }
}

async function stopped(shipper: ShipperProcess): Promise<void> {
  shipper.child.kill('SIGTERM');
  assert.deepEqual(await exitOf(shipper), [0, null], shipper.output());
}

const followed = (shipper: ShipperProcess, path: string) => shipper.events().filter((e) => e.event === 'following' && e.path === path).length;

describe('node agent: rotation and deletion', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  function node(name: string, runtime: Runtime = 'containerd', env: Record<string, string> = {}): { fake: FakeNode; env: Record<string, string> } {
    const fake = new FakeNode(join(rig.logDir, name), runtime);
    return {
      fake,
      env: {
        DAYLOG_URL: rig.url,
        DAYLOG_PODS_DIR: fake.podsDir,
        DAYLOG_STATE_DIR: stateDirOf(join(rig.logDir, name)),
        DAYLOG_BATCH_WAIT: '100ms',
        DAYLOG_POLL_INTERVAL: '50ms',
        ...env,
      },
    };
  }

  for (const runtime of ['containerd', 'cri-o', 'docker'] as const) {
    it(`${runtime}: rotation under load, lines written after the rename, a line across it, copies gzipped and removed: every line once, in order`, async () => {
      const { fake, env } = node(`load-${runtime}`, runtime);
      const pod = `rotating-${runtime}`;
      const writer = new Writer(fake.start({ namespace: 'shop', pod, uid: newUid(), container: 'app' }), pod);
      const shipper = startShipper(env);
      await until('the agent follows the log', () => followed(shipper, writer.container.path) === 1);
      const rotateAt = Date.now();
      for (let round = 1; round <= 6; round++) {
        writer.write(1500, 97);
        const finish = writer.begin();
        // kubelet renames; the runtime writes on into the renamed file until it reopens.
        writer.container.rotate(rotateAt + round * 1000, { reopen: false });
        writer.writeStderr(200);
        writer.container.reopen();
        finish();
        writer.write(300, 53);
        await until(`the agent follows the log reopened (${round})`, () => followed(shipper, writer.container.path) === round + 1);
      }
      if (runtime !== 'docker') assert.ok(readdirSync(writer.container.dir).some((name) => name.endsWith('.gz')), 'kubelet compressed a copy');
      await assertAllOnce(rig, pod, writer.lines);
      await stopped(shipper);
    });
  }

  it('reads a file rotated and gzipped while it was stopped from the .gz, only its unread part, and joins a line begun before the rotation', async () => {
    const { fake, env } = node('down');
    const pod = 'down-0';
    const writer = new Writer(fake.start({ namespace: 'shop', pod, uid: newUid(), container: 'app' }), pod);
    let shipper = startShipper(env);
    const rotateAt = Date.now();
    for (let round = 1; round <= 3; round++) {
      // Caught up first: kubelet keeps few copies, and one it removes before the agent reads it is gone (the bound).
      const written = writer.lines.length;
      await until('every line so far stored', async () => (await storedLines(rig, pod)).length >= written);
      writer.write(2000, 101);
      await until('some of the current file acknowledged and saved', () => savedOffsetOf(env.DAYLOG_STATE_DIR, writer.container.path) > 0);
      // Killed mid-stream: batches on their way, a line between its pieces.
      const finish = writer.begin();
      shipper.child.kill('SIGKILL');
      await exitOf(shipper);
      writer.writeStderr(300);
      writer.container.rotate(rotateAt + round * 2000);
      finish();
      writer.write(400, 31);
      // A second rotation compresses the first copy: the file the agent was reading is now only a .gz.
      writer.container.rotate(rotateAt + round * 2000 + 1000);
      writer.write(100);
      assert.ok(!existsSync(join(writer.container.dir, writer.container.rotatedCopies()[0].replace(/\.gz$/, ''))), 'the copy read before is only a .gz');
      shipper = startShipper(env);
      await until('the file it was reading read on from its .gz', () =>
        shipper.events().some((e) => e.event === 'following' && String(e.path).endsWith('.gz') && e.resumed === true && Number(e.offset) > 0),
      );
    }
    await assertAllOnce(rig, pod, writer.lines);
    await stopped(shipper);
  });

  it("docker: reads the copy Docker rotated beside its file while the agent was stopped, only its unread part, a line across it joined", async () => {
    const { fake, env } = node('docker-down', 'docker');
    const pod = 'docker-down-0';
    const writer = new Writer(fake.start({ namespace: 'shop', pod, uid: newUid(), container: 'app' }), pod);
    let shipper = startShipper(env);
    for (let round = 1; round <= 3; round++) {
      const written = writer.lines.length;
      await until('every line so far stored', async () => (await storedLines(rig, pod)).length >= written);
      writer.write(1500, 89);
      await until('some of the current file acknowledged and saved', () => savedOffsetOf(env.DAYLOG_STATE_DIR, writer.container.path) > 0);
      const finish = writer.begin();
      shipper.child.kill('SIGKILL');
      await exitOf(shipper);
      writer.writeStderr(200);
      // Docker renames its own file to `-json.log.1` and opens a new one; the link in the pods folder names the new one.
      writer.container.rotate(Date.now());
      finish();
      writer.write(300, 41);
      shipper = startShipper(env);
    }
    await assertAllOnce(rig, pod, writer.lines);
    await stopped(shipper);
  });

  it('docker: files Docker renames to `.1` one over another while the agent is behind: each read after the one it replaced, lines across them joined', async () => {
    // Batches let through: all (null), or each of these keys once; the rest refused. Refused, the agent holds
    // AGGREGATOR_CONNECTIONS batches and reads no further. By key, not by count: a connection whose held batch
    // went may send its next before another's held batch is retried, and would take that one's turn.
    let letThrough: Set<string> | null = null;
    const proxy = await startProxy(rig.url, (headers) =>
      letThrough === null || letThrough.delete(String(headers['idempotency-key'])) ? null : { status: 503, headers: { 'Retry-After': '1' }, body: '{"error":"busy"}' },
    );
    try {
      const { fake, env } = node('docker-behind', 'docker', { DAYLOG_URL: proxy.url, DAYLOG_BATCH_LINES: '100' });
      const pod = 'docker-behind-0';
      const writer = new Writer(fake.start({ namespace: 'shop', pod, uid: newUid(), container: 'app' }), pod);
      const shipper = startShipper(env);
      await until('the agent follows the log', () => followed(shipper, writer.container.path) === 1);
      const refusedKeys = () => new Set(shipper.events().filter((e) => e.event === 'retry').map((e) => String(e.key)));
      const stuck = async (before: number) => until('every connection waits on a refused batch', () => refusedKeys().size >= before + AGGREGATOR_CONNECTIONS);
      letThrough = new Set();
      writer.write(20_000, 997);
      await stuck(0);
      let finish = writer.begin();
      writer.container.rotate(Date.now());
      finish();
      writer.write(300, 53);
      // The batches held go, and the next are refused: the agent lists once, far from the end of the first file.
      letThrough = refusedKeys();
      await until('the agent follows the file after the rotation', () => followed(shipper, writer.container.path) === 2);
      await stuck(AGGREGATOR_CONNECTIONS);
      // The file still being read is replaced at `.1`, and the one replacing it too, before the agent lists again.
      for (let rotation = 0; rotation < 2; rotation++) {
        finish = writer.begin();
        writer.container.rotate(Date.now());
        finish();
        writer.write(300, 53);
      }
      letThrough = null;
      await assertAllOnce(rig, pod, writer.lines);
      await stopped(shipper);
    } finally {
      proxy.close();
    }
  });

  it('reads the files of a pod deleted right after writing to their end, a last piece with no end included', async () => {
    const { fake, env } = node('deleted');
    const pod = 'deleted-0';
    const uid = newUid();
    const writer = new Writer(fake.start({ namespace: 'shop', pod, uid, container: 'app' }), pod);
    const sidecar = new Writer(fake.start({ namespace: 'shop', pod, uid, container: 'sidecar' }), `${pod}-sidecar`);
    const shipper = startShipper(env);
    await until('the agent follows both logs', () => followed(shipper, writer.container.path) === 1 && followed(shipper, sidecar.container.path) === 1);
    writer.write(5000, 211);
    sidecar.write(3000);
    writer.container.writeUnfinished('stdout', 'the last words, never ended', Date.now());
    fake.deletePod(uid);
    await assertAllOnce(rig, pod, [...writer.lines, ...sidecar.lines, { message: 'the last words, never ended', stream: 'stdout', container: 'app' }]);
    await stopped(shipper);
  });

  it('joins stack traces with DAYLOG_MULTILINE=stacktrace, per container stream, a trace across a rotation too, and leaves other lines alone', async () => {
    const { fake, env } = node('traces', 'containerd', { DAYLOG_MULTILINE: 'stacktrace' });
    const pod = 'traces-0';
    const app = fake.start({ namespace: 'shop', pod, uid: newUid(), container: 'app' });
    const shipper = startShipper(env);
    await until('the agent follows the log', () => followed(shipper, app.path) === 1);
    let ts = Date.now() - 60_000;
    const write = (stream: Stream, lines: string[]) => {
      for (const line of lines) app.write(stream, line, (ts += 1));
    };
    const java = ['java.lang.IllegalStateException: no seat', '\tat shop.Booking.reserve(Booking.java:42)', '\tat shop.Api.post(Api.java:7)', 'Caused by: java.io.IOException: closed', '\t... 2 more'];
    const python = ['Traceback (most recent call last):', '  File "/app/worker.py", line 9, in <module>', '    run()', 'ValueError: bad input'];
    // The agent is held while the lines are written: a trace whose next line comes more than a second after its last
    // is shipped as it is (by design), and a loaded machine could let this test, or the agent's look for the next
    // file, lag that long. Held, the agent finds every line on disk when it goes on, the next file's too.
    shipper.child.kill('SIGSTOP');
    try {
      write('stderr', ['ERROR request failed', ...java]);
      write('stdout', ['plain line one']);
      write('stderr', python.slice(0, 2));
      // kubelet rotates in the middle of the Python trace: its last lines are in the next file.
      app.rotate(Date.now());
      write('stderr', python.slice(2));
      write('stdout', ['plain line two']);
      write('stderr', ['WARN after the traces']);
    } finally {
      shipper.child.kill('SIGCONT');
    }
    const expected: Written[] = [
      { message: 'ERROR request failed', stream: 'stderr', container: 'app' },
      { message: java.join('\n'), stream: 'stderr', container: 'app' },
      { message: 'plain line one', stream: 'stdout', container: 'app' },
      { message: python.join('\n'), stream: 'stderr', container: 'app' },
      { message: 'plain line two', stream: 'stdout', container: 'app' },
      { message: 'WARN after the traces', stream: 'stderr', container: 'app' },
    ];
    await assertAllOnce(rig, pod, expected);
    await stopped(shipper);
  });

  it('says once that a file cannot be read, tries it again at every listing, and reads it once it can', async () => {
    const { fake, env } = node('unreadable');
    const pod = 'unreadable-0';
    const app = fake.start({ namespace: 'shop', pod, uid: newUid(), container: 'app' });
    app.stop();
    rmSync(app.path);
    // A link to itself: stat fails with ELOOP, as a file the agent may not read fails with EACCES.
    symlinkSync(app.path, app.path);
    const shipper = startShipper(env);
    const unreadable = () => shipper.events().filter((e) => e.event === 'file_unreadable' && e.path === app.path);
    await until('the file said unreadable', () => unreadable().length === 1);
    // Listings later (each pod below is found by one), still said once.
    for (let i = 0; i < 3; i++) {
      const other = new Writer(fake.start({ namespace: 'shop', pod: `readable-${i}`, uid: newUid(), container: 'app' }), `readable-${i}`);
      other.write(1);
      await assertAllOnce(rig, `readable-${i}`, other.lines);
    }
    assert.equal(unreadable().length, 1);
    rmSync(app.path);
    writeFileSync(app.path, `${new Date().toISOString()} stdout F readable now\n`);
    await assertAllOnce(rig, pod, [{ message: 'readable now', stream: 'stdout', container: 'app' }]);
    await stopped(shipper);
  });

  it('holds at most DAYLOG_MAX_DELETED_FILES deleted files open, giving up the oldest and counting their unread bytes', async () => {
    const metricsPort = await freePort();
    // Nothing answers: the agent cannot ship, so it is behind on every file.
    const { fake, env } = node('bound', 'containerd', { DAYLOG_URL: `http://127.0.0.1:${await freePort()}`, DAYLOG_MAX_DELETED_FILES: '1', DAYLOG_METRICS_PORT: String(metricsPort) });
    const writers = [0, 1, 2].map((i) => new Writer(fake.start({ namespace: 'shop', pod: `bound-${i}`, uid: newUid(), container: 'app' }), `bound-${i}`));
    for (const writer of writers) writer.write(3000);
    const shipper = startShipper(env);
    await until('the agent follows the three logs', () => writers.every((writer) => followed(shipper, writer.container.path) === 1));
    for (const writer of writers) fake.deletePod(writer.container.ref.uid);
    await until('two deleted files given up', () => shipper.events().filter((e) => e.event === 'deleted_file_given_up').length === 2);
    const metrics = await probe(metricsPort, '/metrics');
    const abandoned = Number(/^daylog_shipper_bytes_abandoned_total (\d+)$/m.exec(metrics?.text ?? '')?.[1]);
    assert.ok(abandoned > 0, metrics?.text);
    shipper.child.kill('SIGKILL');
    await exitOf(shipper);
  });
});
