import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { describe, it } from 'node:test';
import { loadConfig } from '@daylog/config';
import { RetentionService } from '../apps/aggregator/src/retention/retention.service';
import { PAYMENTS_WRITER, SHOP_WRITER, bearer, metric, newPods } from './support/label-set-helpers';
import { HOUR, ManualClock, TestApp, startTestApp, tempDataDir } from './support/test-app';

describe('DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE', () => {
  const LIMIT_REACHED =
    'namespace shop already has 3 label sets with lines within the retention, the most DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE ' +
    'allows: a line of a new pod, container or source is refused until older ones pass the retention';

  it("refuses, line by line, what would give a namespace one label set too many; its label sets in use and other namespaces go on, after a restart too", async () => {
    const dataDir = tempDataDir();
    const clock = new ManualClock();
    const env = { DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE: '3', DAYLOG_INGEST_TOKENS: `${SHOP_WRITER}=shop,${PAYMENTS_WRITER}=payments` };
    const send = (t: TestApp, token: string, namespace: string, pods: string[]) =>
      t.http.post('/api/v1/logs').set(bearer(token)).send({ labels: { namespace }, lines: pods.map((pod) => ({ pod, message: `from ${pod}` })) });
    let t = await startTestApp({ dataDir, clock, env });
    try {
      const flood = await send(t, SHOP_WRITER, 'shop', ['web-a', 'web-b', 'web-a', 'web-c', 'web-d', 'web-e']);
      assert.deepEqual(flood.body, {
        accepted: 4,
        rejected: [
          { index: 4, reason: LIMIT_REACHED },
          { index: 5, reason: LIMIT_REACHED },
        ],
        duplicate: false,
      });
      assert.deepEqual((await send(t, SHOP_WRITER, 'shop', ['web-c', 'web-a'])).body, { accepted: 2, rejected: [], duplicate: false });
      assert.deepEqual((await send(t, PAYMENTS_WRITER, 'payments', ['ledger-a', 'ledger-b', 'ledger-c'])).body, {
        accepted: 3,
        rejected: [],
        duplicate: false,
      });
      const push = await t.http
        .post('/loki/api/v1/push')
        .set(bearer(SHOP_WRITER))
        .send({ streams: [{ stream: { namespace: 'shop', pod: 'web-f' }, values: [[`${clock.now()}000000`, 'pushed']] }] });
      assert.equal(push.status, 400);
      assert.equal(push.body.error, `1 of 1 entries refused (0 stored): entry 0: ${LIMIT_REACHED}`);
      assert.equal(await metric(t, 'daylog_lines_rejected_total{reason="too_many_label_sets"}'), 3);

      await t.close();
      t = await startTestApp({ dataDir, clock, env });
      assert.deepEqual((await send(t, SHOP_WRITER, 'shop', ['web-g', 'web-b'])).body, {
        accepted: 1,
        rejected: [{ index: 0, reason: LIMIT_REACHED }],
        duplicate: false,
      });

      clock.advance(25 * HOUR);
      await t.app.get(RetentionService).prune();
      assert.deepEqual((await send(t, SHOP_WRITER, 'shop', ['web-g', 'web-h', 'web-i'])).body, {
        accepted: 3,
        rejected: [],
        duplicate: false,
      }, 'label sets past the retention no longer count');
      const pods = await t.http.get('/api/v1/labels/pod').query({ namespace: 'shop', format: 'json' });
      assert.deepEqual((pods.body.values as { value: string }[]).map((v) => v.value), ['web-g', 'web-h', 'web-i']);
    } finally {
      await t.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is refused at boot when it is not a whole number from 1', () => {
    assert.throws(() => loadConfig({ DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE: '0' }), {
      message: 'DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE="0" is not valid: expected a whole number from 1 to 1000000',
    });
  });
});

describe('reads while new label sets are written (DAYLOG_PARTITION=1m)', () => {
  it('answers every unfiltered query, stats and label values with 200, never a 500 for a label set newer than the read', async () => {
    const t = await startTestApp({ env: { DAYLOG_PARTITION: '1m' } });
    try {
      const now = t.clock.now();
      const history = Array.from({ length: 20 }, (_, minute) => ({ ts: now - (20 - minute) * 60_000, message: `minute ${minute}` }));
      assert.equal((await t.http.post('/api/v1/logs').send({ labels: { namespace: 'shop', pod: 'steady' }, lines: history })).status, 200);

      let writing = true;
      let written = 0;
      const writer = (async () => {
        while (writing) {
          const response = await t.http.post('/api/v1/logs').send(newPods(`pod-${written++}`, 1));
          assert.equal(response.status, 200);
        }
      })();
      const reads = ['/api/v1/logs?direction=forward&limit=100', '/api/v1/logs?limit=100', '/api/v1/stats', '/api/v1/labels/pod'];
      const failures: string[] = [];
      try {
        for (let round = 0; round < 30 && failures.length === 0; round++) {
          for (const path of reads) {
            const response = await t.http.get(path).query({ format: 'json' });
            if (response.status !== 200) failures.push(`${path}: ${response.status} ${JSON.stringify(response.body)}`);
          }
        }
      } finally {
        writing = false;
        await writer;
      }
      assert.deepEqual(failures, []);
      assert.ok(written > 20, `only ${written} batches of new label sets were written during the reads`);
    } finally {
      await t.close();
    }
  });
});
