import assert from 'node:assert/strict';
import { once } from 'node:events';
import { ClientRequest, IncomingMessage, request } from 'node:http';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AggregatorProcess, exitWithin, runAggregator } from './support/aggregator-process';
import { queryJson, startTestApp, storageEnv, tempDataDir } from './support/test-app';

const LINES = 5000;

function batchBody(pod: string): Buffer {
  const now = Date.now();
  const lines = Array.from({ length: LINES }, (_, i) => ({ ts: now + i, message: `GET /items/${i} HTTP/1.1 200 ${'x'.repeat(80)}` }));
  return Buffer.from(JSON.stringify({ labels: { namespace: 'shop', pod }, lines }));
}

/** A POST whose headers and first half are sent now; the rest waits for `finish`. */
async function startUpload(url: string, body: Buffer): Promise<{ upload: ClientRequest; answer: Promise<{ status: number; body: string }> }> {
  const upload = request(`${url}/api/v1/logs`, {
    method: 'POST',
    agent: false,
    headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
  });
  const answer = once(upload, 'response').then(async ([response]) => {
    const incoming = response as IncomingMessage;
    let text = '';
    for await (const chunk of incoming) text += (chunk as Buffer).toString();
    return { status: incoming.statusCode ?? 0, body: text };
  });
  await new Promise<void>((resolve, reject) => upload.write(body.subarray(0, body.length / 2), (error) => (error ? reject(error) : resolve())));
  return { upload, answer };
}

/** The aggregator handles connections in the order their bytes arrive: once a later request is answered, the upload's first half has been read. */
async function uploadIsUnderWay(url: string): Promise<void> {
  assert.equal((await fetch(`${url}/healthz`)).status, 200);
}

async function refusesNewConnections(url: string): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      await fetch(`${url}/healthz`, { headers: { Connection: 'close' } });
    } catch {
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.fail('the aggregator still accepts connections two seconds after SIGTERM');
}

async function storedLines(dataDir: string, pod: string): Promise<number> {
  const t = await startTestApp({ dataDir, clock: { now: () => Date.now() } });
  try {
    return (await queryJson(t.http, { pod, limit: '5000' })).lines.length;
  } finally {
    await t.close();
  }
}

describe('stopping on SIGTERM', () => {
  // On the suite's engine: a data dir, or on PostgreSQL the database the same dir names to startTestApp after.
  const start = async (dataDir: string, env: Record<string, string> = {}): Promise<AggregatorProcess> =>
    runAggregator({ ...(await storageEnv(dataDir)), DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1', ...env });

  it('stops accepting, answers the batch being uploaded when the signal came, stores it whole, and exits 0', async () => {
    const dataDir = tempDataDir();
    const run = await start(dataDir);
    try {
      const url = await run.listening();
      const body = batchBody('in-flight');
      const { upload, answer } = await startUpload(url, body);
      await uploadIsUnderWay(url);

      run.child.kill('SIGTERM');
      await refusesNewConnections(url);
      upload.end(body.subarray(body.length / 2));

      const { status, body: text } = await answer;
      assert.equal(status, 200, text);
      assert.deepEqual(JSON.parse(text), { accepted: LINES, rejected: [], duplicate: false });
      assert.deepEqual(await exitWithin(run, 5000), [0, null]);
      assert.equal(await storedLines(dataDir, 'in-flight'), LINES);
    } finally {
      run.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('closes an upload that stalls past DAYLOG_SHUTDOWN_GRACE, stores none of it, and still exits 0', async () => {
    const dataDir = tempDataDir();
    const run = await start(dataDir, { DAYLOG_SHUTDOWN_GRACE: '1s' });
    try {
      const url = await run.listening();
      const { upload, answer } = await startUpload(url, batchBody('stalled'));
      const closed = once(upload, 'error').then(([error]) => (error as NodeJS.ErrnoException).code);
      void answer.catch(() => undefined);
      await uploadIsUnderWay(url);

      run.child.kill('SIGTERM');
      assert.deepEqual(await exitWithin(run, 5000), [0, null]);
      assert.equal(await closed, 'ECONNRESET');
      assert.ok(run.logEntries().some((entry) => entry.level === 'warn' && entry.message === 'grace period over: closing the connections still open'));
      assert.equal(await storedLines(dataDir, 'stalled'), 0);
    } finally {
      run.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
