import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ShipperRig, assertExactlyOnce, savedOffsets, stateDirOf, startRig, until } from './support/shipper-harness';
import { ShipperProcess, exitOf, startShipper } from './support/shipper-process';
import { WireLineBody, queryJson } from './support/test-app';

/** The deliberate pauses of the SIGKILL test; nothing here waits a fixed time for a condition. */
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const PIECE = 16 * 1024;
let uids = 0;
/** A pod UID of the Downward API's shape, new each call. */
const newUid = () => `3f5c2a4e-8b1d-4c6f-9e2a-${String(++uids).padStart(12, '0')}`;

/** containerd's time: UTC, nanoseconds with trailing zeros trimmed. */
function containerdTime(ms: number, nanos = '123456'): string {
  const [seconds, fraction] = new Date(ms).toISOString().slice(0, -1).split('.');
  const digits = `${fraction}${nanos}`.replace(/0+$/, '');
  return `${seconds}${digits ? `.${digits}` : ''}Z`;
}

/** CRI-O's time: the node's local offset (+02:00 here), always nine digits. */
function crioTime(ms: number): string {
  const local = new Date(ms + 2 * 3600_000).toISOString().slice(0, -1);
  return `${local}000001+02:00`;
}

const cri = (time: string, stream: string, tag: 'P' | 'F', message: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from(`${time} ${stream} ${tag} `), Buffer.from(message), Buffer.from('\n')]);

/** Docker json-file escapes <, > and & as Go does. */
const dockerRecord = (log: string, stream: string, time: string): string =>
  `${JSON.stringify({ log, stream, time }).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026')}\n`;

/** `<podsDir>/<namespace>_<pod>_<uid>/<container>/<restart>.log`, with its folders. */
function containerLog(podsDir: string, namespace: string, pod: string, uid: string, container: string, restart = 0): string {
  const file = join(podsDir, `${namespace}_${pod}_${uid}`, container, `${restart}.log`);
  mkdirSync(dirname(file), { recursive: true });
  return file;
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

async function waitForStored(rig: ShipperRig, pod: string, count: number): Promise<WireLineBody[]> {
  let lines: WireLineBody[] = [];
  await until(`${count} lines of ${pod} stored`, async () => (lines = await storedLines(rig, pod)).length >= count);
  return lines;
}

async function stopped(shipper: ShipperProcess): Promise<void> {
  shipper.child.kill('SIGTERM');
  assert.deepEqual(await exitOf(shipper), [0, null], shipper.output());
}

describe('node agent', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  /** A pods directory of its own, and the agent's settings for it. */
  function node(name: string, env: Record<string, string> = {}): { podsDir: string; env: Record<string, string> } {
    const podsDir = join(rig.logDir, name, 'pods');
    mkdirSync(podsDir, { recursive: true });
    return {
      podsDir,
      env: {
        DAYLOG_URL: rig.url,
        DAYLOG_PODS_DIR: podsDir,
        DAYLOG_STATE_DIR: stateDirOf(join(rig.logDir, name)),
        DAYLOG_BATCH_WAIT: '100ms',
        DAYLOG_POLL_INTERVAL: '50ms',
        ...env,
      },
    };
  }

  it('ships every container line of containerd, CRI-O and Docker nodes once, joined, labelled from the path, with its time, stream and level', async () => {
    const { podsDir, env } = node('formats');
    const t0 = Date.now() - 60_000;
    const webUid = newUid();
    const nginx = containerLog(podsDir, 'shop', 'web-1', webUid, 'nginx');
    // A 16 KiB piece ends inside "é" (2 bytes): the character is whole only once the pieces are joined.
    const longHead = Buffer.concat([Buffer.from('x'.repeat(PIECE - 1)), Buffer.from('é')]);
    const pieceOne = longHead.subarray(0, PIECE);
    const pieceTwo = Buffer.concat([longHead.subarray(PIECE), Buffer.from('y'.repeat(PIECE - 1))]);
    const longLine = `${'x'.repeat(PIECE - 1)}é${'y'.repeat(PIECE - 1)} end`;
    const nginxError = '2024/05/01 12:00:10 [error] 29#29: *2 open() "/usr/share/nginx/html/favicon.ico" failed (2: No such file or directory)';
    writeFileSync(
      nginx,
      Buffer.concat([
        cri(containerdTime(t0), 'stdout', 'F', '10.244.1.1 - - [01/May/2024:12:00:10 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-"'),
        cri(containerdTime(t0 + 1000, ''), 'stderr', 'F', nginxError),
        cri(containerdTime(t0 + 2000), 'stdout', 'P', pieceOne),
        cri(containerdTime(t0 + 2001), 'stderr', 'F', 'WARN between the pieces'),
        cri(containerdTime(t0 + 2002), 'stdout', 'P', pieceTwo),
        cri(containerdTime(t0 + 2003), 'stdout', 'F', ' end'),
        cri(containerdTime(t0 + 3000), 'stdout', 'F', ''),
        cri(containerdTime(t0 + 3001), 'stdout', 'F', 'from a tty\r'),
        cri(containerdTime(t0 + 3002), 'stdout', 'F', '{"level":"error","msg":"payment failed"}'),
        Buffer.from('not a runtime record at all\n'),
      ]),
    );
    const appUid = newUid();
    writeFileSync(containerLog(podsDir, 'shop', 'worker-0', appUid, 'app', 0), cri(containerdTime(t0 + 4000), 'stderr', 'F', 'crashed before the restart'));
    writeFileSync(containerLog(podsDir, 'shop', 'worker-0', appUid, 'app', 1), cri(containerdTime(t0 + 5000), 'stdout', 'F', 'level=warn msg="after the restart"'));
    writeFileSync(containerLog(podsDir, 'shop', 'worker-0', appUid, 'sidecar', 0), cri(containerdTime(t0 + 5500), 'stdout', 'F', 'second container'));

    const crioUid = newUid();
    const crioPiece = 'c'.repeat(8192);
    writeFileSync(
      containerLog(podsDir, 'cache', 'redis-0', crioUid, 'redis'),
      Buffer.concat([
        cri(crioTime(t0 + 6000), 'stdout', 'P', '{"msg":"partial wri'),
        cri(crioTime(t0 + 6100), 'stdout', 'F', 'te completed","level":"warn"}'),
        cri(crioTime(t0 + 6200), 'stderr', 'P', crioPiece),
        cri(crioTime(t0 + 6300), 'stderr', 'F', ' and the rest\r'),
      ]),
    );

    const dockerUid = newUid();
    const id = 'ab'.repeat(32);
    const dockerFile = join(rig.logDir, 'formats', 'var-lib-docker', 'containers', id, `${id}-json.log`);
    mkdirSync(dirname(dockerFile), { recursive: true });
    const exported = `GET /export?fields=${'col,'.repeat(8000)}`;
    writeFileSync(
      dockerFile,
      [
        dockerRecord('GET /api/items?tag=<b>&x=1 200 "ok"\n', 'stdout', containerdTime(t0 + 7000)),
        dockerRecord('WARN cache miss ratio high\tratio=0.42\n', 'stderr', containerdTime(t0 + 7100)),
        dockerRecord(exported.slice(0, PIECE), 'stdout', containerdTime(t0 + 7200)),
        dockerRecord(exported.slice(PIECE, 2 * PIECE), 'stdout', containerdTime(t0 + 7200)),
        dockerRecord(`${exported.slice(2 * PIECE)} 200\n`, 'stdout', containerdTime(t0 + 7300)),
        dockerRecord('\n', 'stdout', containerdTime(t0 + 7400)),
      ].join(''),
    );
    symlinkSync(dockerFile, containerLog(podsDir, 'legacy', 'billing-0', dockerUid, 'billing'));

    const shipper = startShipper(env);
    const ms = (offset: number) => new Date(t0 + offset).toISOString();
    const fields = (uid: string, restart = 0) => ({ pod_uid: uid, restart });
    const shown = (lines: WireLineBody[]) =>
      lines.map(({ ts, level, namespace, pod, container, source, message, fields: f }) => ({ ts, level, namespace, pod, container, source, message, pod_uid: f?.pod_uid, restart: f?.restart }));

    const web = await waitForStored(rig, 'web-1', 7);
    const labels = { namespace: 'shop', pod: 'web-1', container: 'nginx', pod_uid: webUid, restart: 0 };
    const unknownAt = web.find((line) => line.source === 'unknown')?.ts;
    assert.deepEqual(
      shown(web).sort((a, b) => a.ts.localeCompare(b.ts) || a.message.localeCompare(b.message)),
      [
        { ...labels, ts: ms(0), level: 'info', source: 'stdout', message: '10.244.1.1 - - [01/May/2024:12:00:10 +0000] "GET / HTTP/1.1" 200 615 "-" "curl/8.5.0" "-"' },
        { ...labels, ts: ms(1000), level: 'error', source: 'stderr', message: nginxError },
        { ...labels, ts: ms(2000), level: 'info', source: 'stdout', message: longLine },
        { ...labels, ts: ms(2001), level: 'warn', source: 'stderr', message: 'WARN between the pieces' },
        { ...labels, ts: ms(3001), level: 'info', source: 'stdout', message: 'from a tty' },
        { ...labels, ts: ms(3002), level: 'error', source: 'stdout', message: '{"level":"error","msg":"payment failed"}' },
        // No time of its own: the time it was received.
        { ...labels, ts: unknownAt!, level: 'info', source: 'unknown', message: 'not a runtime record at all' },
      ].sort((a, b) => a.ts.localeCompare(b.ts) || a.message.localeCompare(b.message)),
    );
    assert.ok(Date.parse(unknownAt!) > t0 + 10_000, 'a line in no format takes the time it is received');

    assert.deepEqual(shown(await waitForStored(rig, 'worker-0', 3)), [
      { ts: ms(4000), level: 'info', namespace: 'shop', pod: 'worker-0', container: 'app', source: 'stderr', message: 'crashed before the restart', pod_uid: appUid, restart: 0 },
      { ts: ms(5000), level: 'warn', namespace: 'shop', pod: 'worker-0', container: 'app', source: 'stdout', message: 'level=warn msg="after the restart"', pod_uid: appUid, restart: 1 },
      { ts: ms(5500), level: 'info', namespace: 'shop', pod: 'worker-0', container: 'sidecar', source: 'stdout', message: 'second container', pod_uid: appUid, restart: 0 },
    ]);
    const redis = { namespace: 'cache', pod: 'redis-0', container: 'redis', ...fields(crioUid) };
    assert.deepEqual(shown(await waitForStored(rig, 'redis-0', 2)), [
      { ...redis, ts: ms(6000), level: 'warn', source: 'stdout', message: '{"msg":"partial write completed","level":"warn"}' },
      { ...redis, ts: ms(6200), level: 'info', source: 'stderr', message: `${crioPiece} and the rest` },
    ]);
    const billing = { namespace: 'legacy', pod: 'billing-0', container: 'billing', ...fields(dockerUid) };
    assert.deepEqual(shown(await waitForStored(rig, 'billing-0', 3)), [
      { ...billing, ts: ms(7000), level: 'info', source: 'stdout', message: 'GET /api/items?tag=<b>&x=1 200 "ok"' },
      { ...billing, ts: ms(7100), level: 'warn', source: 'stderr', message: 'WARN cache miss ratio high\tratio=0.42' },
      { ...billing, ts: ms(7200), level: 'info', source: 'stdout', message: `${exported} 200` },
    ]);
    await stopped(shipper);
    for (const pod of ['web-1', 'worker-0', 'redis-0', 'billing-0']) assert.equal((await storedLines(rig, pod)).length, { 'web-1': 7, 'worker-0': 3, 'redis-0': 2, 'billing-0': 3 }[pod], `${pod}: nothing twice`);
    const started = shipper.events().find((e) => e.event === 'started');
    assert.deepEqual([started?.mode, started?.pods_dir, started?.pod_uid], ['node', podsDir, 'unset: the agent collects its own log too']);
  });

  it('collects the namespaces chosen, never its own pod, finds pods that appear later, and says once that a folder is not a pod', async () => {
    const ownUid = newUid();
    const { podsDir, env } = node('choice', { DAYLOG_NAMESPACES: 'shop,team-*', DAYLOG_EXCLUDE_NAMESPACES: 'team-secret', POD_UID: ownUid, DAYLOG_POLL_INTERVAL: '1s' });
    const now = Date.now();
    const write = (namespace: string, pod: string, uid = newUid()) =>
      writeFileSync(containerLog(podsDir, namespace, pod, uid, 'app'), cri(containerdTime(now), 'stdout', 'F', `from ${namespace}/${pod}`));
    write('shop', 'chosen-a');
    write('team-x', 'chosen-b');
    write('team-secret', 'excluded-c');
    write('other', 'excluded-d');
    write('daylog', 'own-agent', ownUid);
    write('shop', 'own-pod', ownUid);
    mkdirSync(join(podsDir, 'not-a-pod-folder', 'app'), { recursive: true });
    writeFileSync(join(podsDir, 'not-a-pod-folder', 'app', '0.log'), cri(containerdTime(now), 'stdout', 'F', 'never read'));
    const shipper = startShipper(env);
    await waitForStored(rig, 'chosen-a', 1);
    await waitForStored(rig, 'chosen-b', 1);
    const createdMs = Date.now();
    write('shop', 'later-e');
    await waitForStored(rig, 'later-e', 1);
    // The watch on the pods folder, or the listing every poll interval (1 s), finds it: a loaded machine gets room.
    assert.ok(Date.now() - createdMs < 10_000, `found after ${Date.now() - createdMs} ms`);
    for (const pod of ['excluded-c', 'excluded-d', 'own-agent', 'own-pod']) assert.deepEqual(await storedLines(rig, pod), [], pod);
    await stopped(shipper);
    assert.deepEqual(
      shipper.events().filter((e) => e.event === 'pod_dir_skipped').map((e) => e.dir),
      [join(podsDir, 'not-a-pod-folder')],
    );
  });

  it('loses nothing and duplicates nothing when killed with SIGKILL mid-stream, also while a line is between its pieces', async () => {
    const { podsDir, env } = node('sigkill', { DAYLOG_BATCH_LINES: '200' });
    const file = containerLog(podsDir, 'shop', 'killed-0', newUid(), 'app');
    const written: string[] = [];
    let at = Date.now() - 30 * 60_000;
    const record = (stream: string, tag: 'P' | 'F', message: string) => cri(containerdTime((at += 1)), stream, tag, message);
    /** `count` lines, every tenth a stdout line in two pieces with a stderr line between them. */
    const bulk = (round: number, count: number) => {
      const records: Buffer[] = [];
      for (let i = 0; i < count; i++) {
        const name = `r${round} ${String(i).padStart(5, '0')}`;
        if (i % 10 === 0) {
          records.push(record('stdout', 'P', `${name} head `), record('stderr', 'F', `${name} between`), record('stdout', 'F', 'tail'));
          written.push(`${name} head tail`, `${name} between`);
        } else {
          records.push(record(i % 2 ? 'stdout' : 'stderr', 'F', name));
          written.push(name);
        }
      }
      appendFileSync(file, Buffer.concat(records));
    };
    let shipper = startShipper(env);
    for (let round = 0; round < 5; round++) {
      bulk(round, 3000);
      await pause(150 + round * 50);
      shipper.child.kill('SIGKILL');
      await exitOf(shipper);
      shipper = startShipper(env);

      // A stdout line's first piece, then stderr lines: those end after it begins, so none may be
      // acknowledged before the line is whole, or a crash would lose its first piece.
      await waitForStored(rig, 'killed-0', written.length);
      appendFileSync(file, Buffer.concat([record('stdout', 'P', `open ${round} head `), ...[1, 2, 3].map((i) => record('stderr', 'F', `open ${round} after ${i}`))]));
      written.push(...[1, 2, 3].map((i) => `open ${round} after ${i}`), `open ${round} head tail`);
      // Longer than a batch waits (100 ms), shorter than a piece waits for the next (5 s).
      await pause(1000);
      shipper.child.kill('SIGKILL');
      await exitOf(shipper);
      appendFileSync(file, record('stdout', 'F', 'tail'));
      shipper = startShipper(env);
    }
    const stored = await waitForStored(rig, 'killed-0', written.length);
    await stopped(shipper);
    assertExactlyOnce(
      stored.map((line) => line.message),
      written,
    );
  });

  it('passes over lines older than DAYLOG_SKIP_OLDER_THAN, and moves its offset over them', async () => {
    const { podsDir, env } = node('old', { DAYLOG_SKIP_OLDER_THAN: '1h' });
    const now = Date.now();
    const mixed = containerLog(podsDir, 'shop', 'mixed-0', newUid(), 'app');
    writeFileSync(mixed, Buffer.concat([cri(containerdTime(now - 2 * 3600_000), 'stdout', 'F', 'two hours old'), cri(containerdTime(now - 600_000), 'stdout', 'F', 'ten minutes old')]));
    const allOld = containerLog(podsDir, 'shop', 'old-0', newUid(), 'app');
    writeFileSync(allOld, Buffer.concat([cri(containerdTime(now - 3 * 3600_000), 'stdout', 'F', 'three hours old'), cri(containerdTime(now - 2 * 3600_000), 'stderr', 'F', 'two hours old')]));
    const shipper = startShipper(env);
    assert.deepEqual((await waitForStored(rig, 'mixed-0', 1)).map((line) => line.message), ['ten minutes old']);
    const stateDir = env.DAYLOG_STATE_DIR;
    const sizes = [readFileSync(mixed).length, readFileSync(allOld).length].sort((a, b) => a - b);
    await until('both files count as done', () => {
      try {
        return JSON.stringify(savedOffsets(stateDir).sort((a, b) => a - b)) === JSON.stringify(sizes);
      } catch {
        return false;
      }
    });
    await stopped(shipper);
    assert.deepEqual(await storedLines(rig, 'old-0'), []);
  });

  it('starts at the end of the files already there when DAYLOG_START_AT=end, and reads files that appear later from their beginning', async () => {
    const { podsDir, env } = node('from-end', { DAYLOG_START_AT: 'end' });
    const now = Date.now();
    const existing = containerLog(podsDir, 'shop', 'end-0', newUid(), 'app');
    writeFileSync(existing, cri(containerdTime(now - 1000), 'stdout', 'F', 'before the agent'));
    const shipper = startShipper(env);
    await until('the agent follows the file', () => shipper.events().some((e) => e.event === 'following'));
    appendFileSync(existing, cri(containerdTime(now), 'stdout', 'F', 'after the agent'));
    writeFileSync(containerLog(podsDir, 'shop', 'end-0', newUid(), 'app'), cri(containerdTime(now), 'stdout', 'F', 'a pod created later'));
    const stored = await waitForStored(rig, 'end-0', 2);
    await stopped(shipper);
    assert.deepEqual(stored.map((line) => line.message).sort(), ['a pod created later', 'after the agent']);
  });
});
