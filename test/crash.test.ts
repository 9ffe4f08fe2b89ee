import assert from 'node:assert/strict';
import { request } from 'node:http';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { exitWithin, runAggregator } from './support/aggregator-process';
import { WireLineBody, startTestApp, tempDataDir } from './support/test-app';

const LINES_PER_BATCH = 200;
const SENDERS = 6;

/** One batch over a fresh connection; resolves with the status, or with 0 when the connection dies. */
function post(url: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${url}/api/v1/logs`, { method: 'POST', agent: false, headers: { 'Content-Type': 'application/json' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', () => resolve(0));
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

describe('a crash under ingest (SIGKILL, DAYLOG_SYNCHRONOUS=full)', () => {
  it('keeps every acknowledged batch whole after a restart, and no batch in part', async () => {
    const dataDir = tempDataDir();
    const run = runAggregator({ DAYLOG_DATA_DIR: dataDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1' });
    const acknowledged = new Set<string>();
    const sent = new Set<string>();
    try {
      const url = await run.listening();
      let stop = false;
      let next = 0;
      const sender = async (): Promise<void> => {
        while (!stop) {
          const batch = `b${next++}`;
          const now = Date.now();
          const lines = Array.from({ length: LINES_PER_BATCH }, (_, i) => ({ ts: now, message: `${batch} line ${i}` }));
          sent.add(batch);
          const status = await post(url, JSON.stringify({ labels: { pod: 'crash', container: batch }, lines }));
          if (status === 200) acknowledged.add(batch);
          if (status === 0) return;
        }
      };
      const senders = Array.from({ length: SENDERS }, sender);
      while (acknowledged.size < 60) await new Promise((resolve) => setTimeout(resolve, 10));
      run.child.kill('SIGKILL');
      stop = true;
      await Promise.all(senders);
      assert.deepEqual(await exitWithin(run, 5000), [null, 'SIGKILL']);
    } finally {
      run.child.kill('SIGKILL');
    }

    const t = await startTestApp({ dataDir, clock: { now: () => Date.now() } });
    try {
      const stored = new Map<string, number>();
      let cursor: string | undefined;
      do {
        const page = await t.http.get('/api/v1/logs').query({ pod: 'crash', limit: '5000', format: 'json', ...(cursor && { cursor }) });
        assert.equal(page.status, 200);
        for (const line of page.body.lines as WireLineBody[]) stored.set(line.container!, (stored.get(line.container!) ?? 0) + 1);
        cursor = (page.body.nextCursor as string | null) ?? undefined;
      } while (cursor);

      const missing = [...acknowledged].filter((batch) => stored.get(batch) !== LINES_PER_BATCH);
      assert.deepEqual(missing, [], 'every acknowledged batch is there, whole');
      const partial = [...stored].filter(([, count]) => count !== LINES_PER_BATCH);
      assert.deepEqual(partial, [], 'no batch is there in part');
      assert.ok([...stored.keys()].every((batch) => sent.has(batch)));
      assert.ok(acknowledged.size >= 60 && sent.size > acknowledged.size, `${acknowledged.size} acknowledged of ${sent.size} sent`);
    } finally {
      await t.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
