import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ManualClock, TestApp, queryJson, startTestApp } from './support/test-app';

/** Sends the text as given, whatever its content type. */
const asGiven = (data: unknown) => data as string;

describe('JSON nested thousands deep', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ clock: new ManualClock(Date.now()) });
  });
  after(() => t.close());

  const DEPTH = 5000;
  const deepArray = `${'['.repeat(DEPTH)}${']'.repeat(DEPTH)}`;
  const deepObject = `${'{"a":'.repeat(DEPTH)}1${'}'.repeat(DEPTH)}`;
  const now = () => `"${Date.now()}000000"`;
  const cases: [string, string, string, number, RegExp][] = [
    ['a line', '/api/v1/logs', `[${deepArray}]`, 400, /^no valid line$/],
    ['a line in NDJSON', '/api/v1/logs?pod=p', deepObject, 400, /^no valid line$/],
    ['a field', '/api/v1/logs', `{"labels":{"pod":"p"},"lines":[{"message":"m","fields":{"a":${deepObject}}}]}`, 400, /^no valid line$/],
    ['the batch labels', '/api/v1/logs', `{"labels":${deepObject},"lines":[{"message":"m"}]}`, 400, /^labels\.a is not a label/],
    ['the lines', '/api/v1/logs', `{"lines":${deepArray}}`, 400, /^no valid line$/],
    ['a Loki stream label', '/loki/api/v1/push', `{"streams":[{"stream":{"pod":"p","x":${deepArray}},"values":[[${now()},"m"]]}]}`, 400, /^stream label "x" is an object or array: Loki's labels and structured metadata are text$/],
    ['Loki structured metadata', '/loki/api/v1/push', `{"streams":[{"stream":{"pod":"p"},"values":[[${now()},"m",{"trace":${deepObject}}]]}]}`, 400, /^structured metadata "trace" is an object or array/],
    ['Loki streams', '/loki/api/v1/push', `{"streams":${deepArray}}`, 400, /^a Loki push is/],
    ['a Loki entry', '/loki/api/v1/push', `{"streams":[{"stream":{"pod":"p"},"values":[${deepArray}]}]}`, 400, /^1 of 1 entries refused/],
  ];
  for (const [what, path, body, status, error] of cases) {
    it(`is a ${status} in ${what} (${path.split('?')[0]})`, async () => {
      const type = what.includes('NDJSON') ? 'application/x-ndjson' : 'application/json';
      const response = await t.http.post(path).set('Content-Type', type).serialize(asGiven).send(body);
      assert.equal(response.status, status, response.text.slice(0, 300));
      assert.match(response.body.error, error);
    });
  }

  it('stores a Loki push whose labels and metadata are numbers or booleans as their text', async () => {
    const response = await t.http
      .post('/loki/api/v1/push')
      .serialize(asGiven)
      .set('Content-Type', 'application/json')
      .send(`{"streams":[{"stream":{"pod":"scalars","port":8080},"values":[[${now()},"m",{"sampled":true}]]}]}`);
    assert.equal(response.status, 204, response.text);
    const [line] = (await queryJson(t.http, { pod: 'scalars' })).lines;
    assert.deepEqual(line.fields, { port: '8080', sampled: 'true' });
  });
});
