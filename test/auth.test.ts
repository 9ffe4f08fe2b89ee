import assert from 'node:assert/strict';
import { get } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigError, loadConfig } from '@daylog/config';
import { exitWithin, runAggregator } from './support/aggregator-process';
import { ManualClock, TestApp, WireLineBody, startTestApp, tempDataDir } from './support/test-app';

const WRITER = 'ingest-token-0123456789';
const SHOP_WRITER = 'shop-ingest-token-0123456789';
const PAYMENTS_WRITER = 'payments-ingest-token-0123456789';
const READER = 'read-token-0123456789abc';
const SHOP_READER = 'shop-read-token-0123456789';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

describe('tokens in the configuration', () => {
  it('come from a comma-separated variable or from a file of one token a line, each optionally limited to namespaces', () => {
    const dir = mkdtempSync(join(tmpdir(), 'daylog-tokens-'));
    try {
      writeFileSync(join(dir, 'read'), `  ${READER}  \n\n${SHOP_READER}=shop|payments\n`);
      const config = loadConfig({ DAYLOG_INGEST_TOKENS: `${WRITER}, ${SHOP_WRITER}=shop`, DAYLOG_READ_TOKENS_FILE: join(dir, 'read') });
      assert.deepEqual(config.ingestTokens, [
        { token: WRITER, namespaces: null },
        { token: SHOP_WRITER, namespaces: ['shop'] },
      ]);
      assert.deepEqual(config.readTokens, [
        { token: READER, namespaces: null },
        { token: SHOP_READER, namespaces: ['shop', 'payments'] },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses short tokens, bad namespaces and both forms at once, without repeating a token', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ DAYLOG_INGEST_TOKENS: 'short' }, /^DAYLOG_INGEST_TOKENS="<tokens>" is not valid: a token is too short/],
      [{ DAYLOG_READ_TOKENS: `${READER}=Shop_Floor` }, /a namespace after = is not a Kubernetes namespace name/],
      [{ DAYLOG_READ_TOKENS: READER, DAYLOG_READ_TOKENS_FILE: '/tmp/x' }, /set DAYLOG_READ_TOKENS or DAYLOG_READ_TOKENS_FILE, not both/],
      [{ DAYLOG_READ_TOKENS_FILE: '/nonexistent/tokens' }, /^DAYLOG_READ_TOKENS_FILE="\/nonexistent\/tokens" is not valid: cannot be read \(ENOENT\)/],
    ];
    for (const [env, message] of cases) {
      assert.throws(() => loadConfig(env), (error: Error) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, message);
        assert.ok(!error.message.includes(READER));
        return true;
      });
    }
  });
});

describe('with tokens set', () => {
  let t: TestApp;
  let url: string;

  before(async () => {
    t = await startTestApp({
      clock: new ManualClock(Date.now()),
      env: {
        DAYLOG_INGEST_TOKENS: `${WRITER},${SHOP_WRITER}=shop,${PAYMENTS_WRITER}=payments`,
        DAYLOG_READ_TOKENS: `${READER},${SHOP_READER}=shop`,
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    url = await t.app.getUrl();
    for (const namespace of ['shop', 'payments']) {
      const lines = Array.from({ length: 5 }, (_, i) => ({ ts: Date.now() - 60_000 + i, message: `${namespace} line ${i}` }));
      const response = await t.http.post('/api/v1/logs').set(bearer(WRITER)).send({ labels: { namespace, pod: `${namespace}-1` }, lines });
      assert.equal(response.status, 200);
    }
  });
  after(() => t.close());

  it('answers 401 without a token or with an unknown one, and 403 with a token of the other kind', async () => {
    const none = await t.http.post('/api/v1/logs').send([{ pod: 'x', message: 'no token' }]);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.equal(none.body.error, 'this needs a ingest token: send Authorization: Bearer <token>');
    const unknown = await t.http.get('/api/v1/logs').set(bearer('not-a-token-of-ours-at-all'));
    assert.equal(unknown.status, 401);
    assert.equal((await t.http.post('/api/v1/logs').set(bearer(READER)).send([{ pod: 'x', message: 'reader writes' }])).status, 403);
    const writerReads = await t.http.get('/api/v1/logs').set(bearer(WRITER));
    assert.equal(writerReads.status, 403);
    assert.match(writerReads.body.error, /this token may only send lines/);
    for (const path of ['/api/v1/stats', '/api/v1/labels/pod', '/api/v1/tail']) assert.equal((await t.http.get(path)).status, 401, path);
    assert.equal((await t.http.post('/loki/api/v1/push').send({ streams: [] })).status, 401);
  });

  it('keeps health and, by default, /metrics open', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics']) assert.equal((await t.http.get(path)).status, 200, path);
  });

  it('shows a token limited to a namespace only that namespace, in every endpoint', async () => {
    const logs = await t.http.get('/api/v1/logs').set(bearer(SHOP_READER)).query({ format: 'json', limit: '100' });
    assert.deepEqual(new Set((logs.body.lines as WireLineBody[]).map((line) => line.namespace)), new Set(['shop']));
    const everything = await t.http.get('/api/v1/logs').set(bearer(READER)).query({ format: 'json', limit: '100' });
    assert.equal(everything.body.lines.length, 10);

    const asked = await t.http.get('/api/v1/logs').set(bearer(SHOP_READER)).query({ format: 'json', namespace: 'payments' });
    assert.deepEqual(asked.body.lines, [], 'asking for another namespace finds nothing');
    const labels = await t.http.get('/api/v1/labels/namespace').set(bearer(SHOP_READER)).query({ format: 'json' });
    assert.deepEqual((labels.body.values as { value: string }[]).map((v) => v.value), ['shop']);
    const stats = await t.http.get('/api/v1/stats').set(bearer(SHOP_READER)).query({ format: 'json', since: '1h' });
    assert.equal(stats.body.total, 5);

    const paymentsLine = (everything.body.lines as WireLineBody[]).find((line) => line.namespace === 'payments')!;
    const context = await t.http.get('/api/v1/logs/context').set(bearer(SHOP_READER)).query({ cursor: paymentsLine.cursor });
    assert.equal(context.status, 404, 'a cursor into another namespace leads nowhere');
    assert.match(context.body.error, /^that line is not kept, or not for this token to read/, 'the answer a line past the retention gets');
    assert.equal((await t.http.get('/api/v1/logs/context').set(bearer(READER)).query({ cursor: paymentsLine.cursor })).status, 200);
  });

  it('tails only the namespace a limited token may see', async () => {
    let text = '';
    const tail = get(`${url}/api/v1/tail?limit=0`, { headers: bearer(SHOP_READER) }, (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const namespace of ['payments', 'shop']) {
      await t.http.post('/api/v1/logs').set(bearer(WRITER)).send({ labels: { namespace, pod: `${namespace}-1` }, lines: [{ message: `live ${namespace}` }] });
    }
    const deadline = Date.now() + 5000;
    while (!text.includes('live shop') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    tail.destroy();
    assert.match(text, /live shop/);
    assert.doesNotMatch(text, /payments/);
  });

  it('refuses, line by line, what a limited ingest token sends for other namespaces', async () => {
    const response = await t.http
      .post('/api/v1/logs')
      .set(bearer(SHOP_WRITER))
      .send([
        { namespace: 'shop', pod: 'shop-2', message: 'mine' },
        { namespace: 'payments', pod: 'pay-2', message: 'not mine' },
        { pod: 'nowhere', message: 'no namespace' },
      ]);
    assert.equal(response.status, 200);
    assert.deepEqual(response.body, {
      accepted: 1,
      rejected: [
        { index: 1, reason: 'namespace payments: this token may only write to shop' },
        { index: 2, reason: 'no namespace: this token may only write to shop' },
      ],
      duplicate: false,
    });
    const push = await t.http
      .post('/loki/api/v1/push')
      .set(bearer(SHOP_WRITER))
      .send({ streams: [{ stream: { namespace: 'payments', pod: 'pay-3' }, values: [[`${Date.now()}000000`, 'pushed']] }] });
    assert.equal(push.status, 403);
    assert.match(push.body.error, /namespace payments: this token may only write to shop/);
  });

  it('refuses with a 403 a batch none of whose lines the token may write: the token is wrong, not the lines', async () => {
    const response = await t.http
      .post('/api/v1/logs?namespace=payments&pod=pay-4')
      .set(bearer(SHOP_WRITER))
      .set('Content-Type', 'text/plain')
      .send('one\ntwo\n');
    assert.equal(response.status, 403);
    assert.deepEqual(response.body, {
      error: 'this token may not write these lines: namespace payments: this token may only write to shop',
      accepted: 0,
      rejected: [
        { index: 0, reason: 'namespace payments: this token may only write to shop' },
        { index: 1, reason: 'namespace payments: this token may only write to shop' },
      ],
    });
  });

  it("keeps each token scope's idempotency keys apart: a key one scope has used is news to another", async () => {
    const send = (token: string, namespace: string, message: string) =>
      t.http.post('/api/v1/logs').set(bearer(token)).set('Idempotency-Key', 'claimed-key').send([{ namespace, pod: 'keyed', message }]);
    const stored = { accepted: 1, rejected: [], duplicate: false };
    const duplicate = { accepted: 0, rejected: [], duplicate: true };
    assert.deepEqual((await send(SHOP_WRITER, 'shop', 'shop sent it first')).body, stored);
    assert.deepEqual((await send(PAYMENTS_WRITER, 'payments', 'payments sent it next')).body, stored, 'payments is not told the key is in use');
    assert.deepEqual((await send(WRITER, 'payments', 'an unlimited token')).body, stored);
    for (const [token, namespace] of [[SHOP_WRITER, 'shop'], [PAYMENTS_WRITER, 'payments'], [WRITER, 'payments']]) {
      assert.deepEqual((await send(token, namespace, 'resent')).body, duplicate, 'each scope still recognises its own key');
    }
    const response = await t.http.get('/api/v1/logs').set(bearer(READER)).query({ pod: 'keyed', direction: 'forward', format: 'json' });
    assert.deepEqual(
      (response.body.lines as WireLineBody[]).map((line) => [line.namespace, line.message]),
      [['shop', 'shop sent it first'], ['payments', 'payments sent it next'], ['payments', 'an unlimited token']],
    );
  });
});

describe('/metrics with DAYLOG_METRICS_AUTH=read', () => {
  it('needs a read token', async () => {
    const t = await startTestApp({ env: { DAYLOG_READ_TOKENS: READER, DAYLOG_METRICS_AUTH: 'read' } });
    try {
      assert.equal((await t.http.get('/metrics')).status, 401);
      assert.equal((await t.http.get('/metrics').set(bearer(READER))).status, 200);
      assert.equal((await t.http.get('/healthz')).status, 200);
    } finally {
      await t.close();
    }
  });
});

describe('the logs of a server with tokens', () => {
  it('never hold a token, configured or presented, and do not warn that it is open', async () => {
    const dataDir = tempDataDir();
    const presented = 'presented-but-unknown-token-42';
    const run = runAggregator({ DAYLOG_DATA_DIR: dataDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1', DAYLOG_INGEST_TOKENS: WRITER, DAYLOG_READ_TOKENS: READER });
    try {
      const base = await run.listening();
      await fetch(`${base}/api/v1/logs`, { headers: bearer(presented) });
      await fetch(`${base}/api/v1/logs`, { method: 'POST', headers: { ...bearer(WRITER), 'Content-Type': 'application/json' }, body: '{not json' });
      await fetch(`${base}/api/v1/logs?pod=x`, { headers: bearer(READER) });
      run.child.kill('SIGTERM');
      assert.deepEqual(await exitWithin(run, 5000), [0, null]);
      const { stdout, stderr } = run.output();
      for (const token of [WRITER, READER, presented]) assert.ok(!(stdout + stderr).includes(token), token);
      assert.doesNotMatch(stdout, /OPEN/);
    } finally {
      run.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('per-token request rates (DAYLOG_RATE_LIMIT)', () => {
  it('answers 429 with Retry-After past the limit, per token, and never limits health or metrics', async () => {
    const t = await startTestApp({ env: { DAYLOG_READ_TOKENS: `${READER},${SHOP_READER}=shop`, DAYLOG_RATE_LIMIT: '3/m' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await t.http.get('/api/v1/logs').set(bearer(READER))).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const limited = await t.http.get('/api/v1/logs').set(bearer(READER));
      assert.equal(limited.status, 429);
      assert.ok(Number(limited.headers['retry-after']) > 0);
      assert.match(limited.body.error, /^more than 3 requests a minute for this token \(DAYLOG_RATE_LIMIT\): retry in /);
      assert.equal((await t.http.get('/api/v1/logs').set(bearer(SHOP_READER))).status, 200, 'another token has its own budget');
      for (let i = 0; i < 5; i++) {
        assert.equal((await t.http.get('/healthz')).status, 200);
        assert.equal((await t.http.get('/metrics')).status, 200);
      }
    } finally {
      await t.close();
    }
  });

  const randomToken = (i: number) => `random-token-${i}-${Math.random().toString(36).slice(2)}`;

  it('counts requests with tokens it does not know by their address where no token is set: random ones get no budget of their own', async () => {
    const t = await startTestApp({ env: { DAYLOG_RATE_LIMIT: '3/m' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await t.http.get('/api/v1/logs').set(bearer(randomToken(i)))).status);
      assert.deepEqual(statuses, [200, 200, 200, 429]);
      const limited = await t.http.get('/api/v1/logs');
      assert.equal(limited.status, 429, 'without a token, the same address and the same budget');
      assert.match(
        limited.body.error,
        /^more than 3 requests a minute from this address \(requests without a token this server knows count by address\) \(DAYLOG_RATE_LIMIT\): retry in /,
      );
    } finally {
      await t.close();
    }
  });

  it('counts guesses of tokens against the address, and leaves a known token its own budget', async () => {
    const t = await startTestApp({ env: { DAYLOG_READ_TOKENS: READER, DAYLOG_INGEST_TOKENS: WRITER, DAYLOG_RATE_LIMIT: '3/m' } });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await t.http.get('/api/v1/logs').set(bearer(randomToken(i)))).status);
      assert.deepEqual(statuses, [401, 401, 401, 429, 429]);
      assert.equal((await t.http.get('/api/v1/logs').set(bearer(READER))).status, 200);
      assert.equal((await t.http.get('/api/v1/logs').set(bearer(WRITER))).status, 403, 'a token of the other kind is known: its own budget');
    } finally {
      await t.close();
    }
  });

  it('is refused at boot when it is not a rate', () => {
    assert.throws(() => loadConfig({ DAYLOG_RATE_LIMIT: 'fast' }), /DAYLOG_RATE_LIMIT="fast" is not valid: expected off, or requests per token as 50\/s or 600\/m/);
    assert.throws(() => loadConfig({ DAYLOG_RATE_LIMIT: '0/s' }), /at least 1 request per window/);
  });
});
