import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { TestApp, startTestApp } from './support/test-app';

const READER = 'nosniff-reader-0123456789';

/** The headers of a live tail's answer, read as soon as they come (the answer itself does not end). */
function tailHeaders(url: string): Promise<Record<string, string | string[] | undefined>> {
  return new Promise((resolve, reject) => {
    const request = get(url, { headers: { Authorization: `Bearer ${READER}` } }, (response) => {
      resolve(response.headers);
      request.destroy();
    });
    request.on('error', reject);
  });
}

describe('X-Content-Type-Options: nosniff', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp({ env: { DAYLOG_READ_TOKENS: READER, DAYLOG_RATE_LIMIT: '20/m' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(() => t.close());

  it('is on every answer: lines, errors, 404s, refusals, health, metrics, Loki and the live tail', async () => {
    const auth = { Authorization: `Bearer ${READER}` };
    const answers = [
      ['a page of lines', await t.http.get('/api/v1/logs').set(auth), 200],
      ['a bad parameter', await t.http.get('/api/v1/logs?limit=0').set(auth), 400],
      ['no token', await t.http.get('/api/v1/logs'), 401],
      ['an unknown path', await t.http.get('/nowhere'), 404],
      ['health', await t.http.get('/healthz'), 200],
      ['metrics', await t.http.get('/metrics'), 200],
      ["Loki's error in plain text", await t.http.get('/loki/api/v1/query_range?query=%7B').set(auth), 400],
    ] as const;
    for (const [what, answer, status] of answers) {
      assert.equal(answer.status, status, what);
      assert.equal(answer.headers['x-content-type-options'], 'nosniff', what);
    }
    let limited;
    for (let i = 0; i < 30 && limited === undefined; i++) {
      const answer = await t.http.get('/api/v1/logs').set('Authorization', 'Bearer not-a-token-of-this-server');
      if (answer.status === 429) limited = answer;
    }
    assert.ok(limited, 'the rate limit answered 429');
    assert.equal(limited.headers['x-content-type-options'], 'nosniff', "the rate limiter's 429");
    assert.equal((await tailHeaders(`${await t.app.getUrl()}/api/v1/tail`))['x-content-type-options'], 'nosniff', 'a live tail');
  });
});
