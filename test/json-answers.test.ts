import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { TestAgent, TestApp, ingestLines, startTestApp } from './support/test-app';

type Request = ReturnType<TestAgent['get']>;

/** The body as sent: a JSON answer ends with a newline, and Content-Length counts it. */
async function assertEndsWithNewline(request: Request, status: number): Promise<void> {
  const response = await request.buffer(true).parse((res, done) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => done(null, Buffer.concat(chunks)));
  });
  const body = response.body as Buffer;
  assert.equal(response.status, status, body.toString());
  assert.match(response.headers['content-type'], /^application\/json/);
  assert.equal(body.at(-1), 0x0a, `ends with a newline: ${JSON.stringify(body.toString())}`);
  assert.equal(body.at(-2) === 0x0a, false, 'one newline');
  assert.equal(Number(response.headers['content-length']), body.length);
  JSON.parse(body.toString());
}

describe('every JSON answer ends with a newline', () => {
  let t: TestApp;
  let lineCursor: string;

  before(async () => {
    t = await startTestApp();
    await ingestLines(t.http, [{ message: 'one line' }]);
    lineCursor = (await t.http.get('/api/v1/logs').query({ format: 'json' })).body.lines[0].cursor;
  });
  after(() => t.close());

  const cases: [string, () => Request, number][] = [
    ['a page of lines', () => t.http.get('/api/v1/logs').query({ format: 'json' }), 200],
    ['the context of a line', () => t.http.get('/api/v1/logs/context').query({ cursor: lineCursor, format: 'json' }), 200],
    ['counts', () => t.http.get('/api/v1/stats').query({ format: 'json' }), 200],
    ['label values', () => t.http.get('/api/v1/labels/pod').query({ format: 'json' }), 200],
    ['an ingest answer', () => t.http.post('/api/v1/logs').send([{ pod: 'p', message: 'm' }]), 200],
    ['liveness', () => t.http.get('/healthz'), 200],
    ['readiness', () => t.http.get('/readyz'), 200],
    ['a bad parameter', () => t.http.get('/api/v1/logs').query({ limit: '0' }), 400],
    ['a body that is not JSON', () => t.http.post('/api/v1/logs').set('Content-Type', 'application/json').send('{"lines": ['), 400],
    ['a gzip body that is not gzip', () => t.http.post('/api/v1/logs?pod=p').set('Content-Type', 'text/plain').set('Content-Encoding', 'gzip').send('plain'), 400],
    ['a body over the limit, inflated', () => t.http.post('/api/v1/logs?pod=p').set('Content-Type', 'text/plain').set('Content-Encoding', 'gzip').send(gzipSync(Buffer.alloc(20_000_000, 'a'))), 413],
    ['a content type not accepted', () => t.http.post('/api/v1/logs').set('Content-Type', 'application/xml').send('<log/>'), 415],
    ['a Loki push with a bad entry', () => t.http.post('/loki/api/v1/push').send({ streams: [{ stream: { pod: 'p' }, values: [['1', 'far too old']] }] }), 400],
    ['a route that does not exist', () => t.http.get('/api/v1/nope'), 404],
  ];
  for (const [what, request, status] of cases) {
    it(`for ${what} (${status})`, () => assertEndsWithNewline(request(), status));
  }
});

describe('every JSON answer ends with a newline, with tokens and rate limits', () => {
  it('for a missing token (401) and a request past the rate (429)', async () => {
    const token = 'a-read-token-of-32-characters-ok';
    const t = await startTestApp({ env: { DAYLOG_READ_TOKENS: token, DAYLOG_RATE_LIMIT: '1/m' } });
    try {
      await assertEndsWithNewline(t.http.get('/api/v1/logs'), 401);
      await assertEndsWithNewline(t.http.get('/api/v1/logs'), 429);
    } finally {
      await t.close();
    }
  });
});
