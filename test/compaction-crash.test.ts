import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { exitWithin, runAggregator } from './support/aggregator-process';
import { partitionGenerations, untilCompacted } from './support/compaction-state';
import { HOUR, MINUTE, startTestApp, tempDataDir } from './support/test-app';

const HOURS = 3;
const LINES_PER_HOUR = 30_000;
const BATCH_LINES = 2000;
const ROUNDS = 4;

interface Batch {
  key: string;
  body: string;
}

/** Lines over the last hours, a batch of one pod at a time, each line named by its batch and place. */
function batches(now: number): Batch[] {
  const all: Batch[] = [];
  const total = HOURS * LINES_PER_HOUR;
  const firstTs = now - HOURS * HOUR;
  for (let start = 0; start < total; start += BATCH_LINES) {
    const key = `batch-${start / BATCH_LINES}`;
    const lines = Array.from({ length: BATCH_LINES }, (_, i) => ({
      ts: firstTs + Math.floor(((start + i) * HOURS * HOUR) / total),
      level: (start + i) % 17 === 0 ? 'error' : 'info',
      message: `${key} line ${i} GET /api/orders/${(start + i) % 977} 200`,
    }));
    all.push({ key, body: JSON.stringify({ labels: { namespace: 'crash', pod: `pod-${(start / BATCH_LINES) % 5}`, container: 'app' }, lines }) });
  }
  return all;
}

async function post(url: string, batch: Batch): Promise<{ status: number; duplicate?: boolean }> {
  const response = await fetch(`${url}/api/v1/logs`, { method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': batch.key }, body: batch.body });
  const body = (await response.json()) as { duplicate?: boolean };
  return { status: response.status, duplicate: body.duplicate };
}

/** Whether a partition's compacted file is being written: it is there beside the file the catalogue still names. */
function rewriteUnderWay(dataDir: string): boolean {
  const dir = join(dataDir, 'partitions');
  return readdirSync(dir).some((file) => file.endsWith('.g1.db') && existsSync(join(dir, file.replace('.g1.db', '.db'))));
}

describe('a crash (SIGKILL) during the rewrite of closed hours into compressed blocks', () => {
  it('loses no line and stores none twice: the old file serves until the new one is named, and the rewrite starts again', { timeout: 300_000 }, async () => {
    const dataDir = tempDataDir();
    const env = { DAYLOG_DATA_DIR: dataDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1', DAYLOG_SYNCHRONOUS: 'normal' };
    const sent = batches(Date.now());
    let killedDuringRewrite = 0;
    try {
      const first = runAggregator({ ...env, DAYLOG_COMPRESSION: 'off' });
      try {
        const url = await first.listening();
        for (const batch of sent) assert.equal((await post(url, batch)).status, 200);
      } finally {
        first.child.kill('SIGKILL');
        await exitWithin(first, 5000);
      }
      for (let round = 0; round < ROUNDS; round++) {
        const run = runAggregator(env);
        try {
          await run.listening();
          const deadline = Date.now() + 60_000;
          while (!rewriteUnderWay(dataDir) && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
          if (!rewriteUnderWay(dataDir)) break;
          await new Promise((resolve) => setTimeout(resolve, round * 15));
          killedDuringRewrite++;
        } finally {
          run.child.kill('SIGKILL');
          await exitWithin(run, 5000);
        }
      }
      assert.ok(killedDuringRewrite >= 2, `the process was killed while a rewrite was under way (${killedDuringRewrite} times)`);

      const t = await startTestApp({ dataDir, clock: { now: () => Date.now() } });
      try {
        const state = await untilCompacted(dataDir, Date.now() - HOUR - 2 * MINUTE, 120_000);
        assert.ok(state.filter((p) => p.generation > 0).length >= HOURS - 1, JSON.stringify(state));
        const seen = new Map<string, number>();
        let cursor: string | undefined;
        do {
          const page = await t.http.get('/api/v1/logs').query({ namespace: 'crash', limit: '5000', direction: 'forward', format: 'json', ...(cursor && { cursor }) });
          assert.equal(page.status, 200);
          for (const line of page.body.lines as { message: string }[]) seen.set(line.message, (seen.get(line.message) ?? 0) + 1);
          cursor = page.body.nextCursor ?? undefined;
        } while (cursor);
        assert.equal(seen.size, HOURS * LINES_PER_HOUR, 'every line is there');
        assert.deepEqual([...seen.values()].filter((count) => count !== 1), [], 'each once');
        const resent = await t.http.post('/api/v1/logs').set('idempotency-key', sent[0].key).set('content-type', 'application/json').send(sent[0].body);
        assert.equal(resent.body.duplicate, true, 'a resent batch is a duplicate');
        for (const partition of state.filter((p) => p.generation > 0)) {
          const newestIn = sent.filter((batch) => {
            const newest = (JSON.parse(batch.body) as { lines: { ts: number }[] }).lines.at(-1)!.ts;
            return newest >= partition.startMs && newest < partition.endMs;
          });
          const db = new Database(join(dataDir, 'partitions', `${partition.name}.g${partition.generation}.db`), { readonly: true });
          try {
            const keys = db.prepare('SELECT idempotency_key FROM batch_keys ORDER BY 1').pluck().all();
            assert.deepEqual(keys, newestIn.map((batch) => batch.key).sort(), `${partition.name} keeps the keys of the batches whose newest lines it holds`);
          } finally {
            db.close();
          }
        }
        assert.deepEqual(
          readdirSync(join(dataDir, 'partitions')).filter((file) => file.endsWith('.db')).sort(),
          partitionGenerations(dataDir).map((p) => (p.generation === 0 ? `${p.name}.db` : `${p.name}.g${p.generation}.db`)),
          'no file is left but those the catalogue names',
        );
      } finally {
        await t.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('lines written to an hour while it is being rewritten', () => {
  it('are in the compacted hour once it is swapped in, each once, in their place', { timeout: 300_000 }, async () => {
    const dataDir = tempDataDir();
    const clock = { now: () => Date.now() };
    const sent = batches(Date.now());
    const writing = await startTestApp({ dataDir, clock, env: { DAYLOG_COMPRESSION: 'off' } });
    try {
      for (const batch of sent) {
        const response = await writing.http.post('/api/v1/logs').set('idempotency-key', batch.key).set('content-type', 'application/json').send(batch.body);
        assert.equal(response.status, 200);
      }
    } finally {
      await writing.close();
    }
    // Started again with compression on, the writer rewrites the closed hours, the oldest first, while lines arrive for it.
    const t = await startTestApp({ dataDir, clock });
    try {
      // A whole hour of the lines: its rewrite takes some blocks, written a few at a time between commits.
      const hour = partitionGenerations(dataDir)[1];
      const rewriting = join(dataDir, 'partitions', `${hour.name}.g1.db`);
      const deadline = Date.now() + 60_000;
      while (!existsSync(rewriting) && partitionGenerations(dataDir)[1].generation === 0 && Date.now() < deadline) await new Promise((resolve) => setImmediate(resolve));
      const lateLines: string[] = [];
      let duringRewrite = 0;
      while (partitionGenerations(dataDir)[1].generation === 0) {
        const message = `late line ${lateLines.length}`;
        const response = await t.http.post('/api/v1/logs').send({ labels: { namespace: 'crash', pod: 'late' }, lines: [{ ts: hour.startMs + lateLines.length, message }] });
        assert.equal(response.status, 200);
        lateLines.push(message);
        if (partitionGenerations(dataDir)[1].generation === 0) duringRewrite++;
      }
      assert.ok(duringRewrite > 0, 'some lines were written while the hour was being rewritten');
      const found = await t.http.get('/api/v1/logs').query({ pod: 'late', limit: '5000', direction: 'forward', format: 'json' });
      assert.deepEqual((found.body.lines as { message: string }[]).map((line) => line.message), lateLines);
      const total = await t.http.get('/api/v1/stats').query({ namespace: 'crash', format: 'json', since: '1d' });
      assert.equal(total.body.total, sent.length * BATCH_LINES + lateLines.length);
    } finally {
      await t.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
