import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TailClient } from './support/tail-client';
import { MINUTE, ManualClock, TestApp, ingestLines, queryJson, startTestApp } from './support/test-app';

/** `"… HTTP/1.1" 500 12 "-" "curl/8" 0.004`: nginx's combined format with $request_time. */
const nginx = (method: string, path: string, status: number, requestTime: string) =>
  `10.0.0.1 - - [24/Nov/2026:09:30:00 +0000] "${method} ${path} HTTP/1.1" ${status} 12 "-" "curl/8" ${requestTime}`;

/** Each line names itself by its message's end or by the `n` of its sent fields; a line ingested with its own labels and format. */
interface Sent {
  name: string;
  pod: string;
  line: Record<string, unknown>;
}

const SENT: Sent[] = [
  { name: 'nginx 500', pod: 'web-1', line: { message: nginx('GET', '/checkout', 500, '0.004'), format: 'nginx-access' } },
  { name: 'nginx 200', pod: 'web-1', line: { message: nginx('GET', '/health', 200, '0.001'), format: 'nginx-access' } },
  { name: 'nginx 200 post', pod: 'web-1', line: { message: nginx('POST', '/pay', 200, '0.250'), format: 'nginx-access' } },
  { name: 'sent 500', pod: 'api-1', line: { message: 'upstream failed', fields: { status: 500, upstream: '10.0.0.1:8080', cached: true, user: '' } } },
  { name: 'sent 503', pod: 'api-1', line: { message: 'upstream slow', fields: { status: 503, upstream: '10.0.0.2:8080', cached: false } } },
  { name: 'json 500', pod: 'api-2', line: { message: '  {"status":"500","route":"/pay","ok":false,"latency":0.25,"nested":{"a":1},"list":[1]}  ' } },
  { name: 'json 200', pod: 'api-2', line: { message: '{"status":200,"route":"/health","ok":true}' } },
  // On a clash the line's fields win over its JSON message's keys.
  { name: 'clash', pod: 'api-2', line: { message: '{"route":"/json","kind":"from json"}', fields: { route: '/sent' } } },
  { name: 'plain', pod: 'api-3', line: { message: 'status:500 route:/pay written as text' } },
  { name: 'array', pod: 'api-3', line: { message: '[{"status":500}]' } },
  { name: 'broken json', pod: 'api-3', line: { message: '{"status":500' } },
];

describe('field filters: field and exclude_field', () => {
  let t: TestApp;
  let tailUrl: string;
  const names = new Map<string, string>();

  before(async () => {
    t = await startTestApp({ clock: new ManualClock() });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    tailUrl = `${await t.app.getUrl()}/api/v1/tail`;
    for (const [i, { name, pod, line }] of SENT.entries()) {
      names.set(line.message as string, name);
      await ingestLines(t.http, [{ ts: t.clock.now() - 30 * MINUTE + i, ...line }], { namespace: 'shop', pod, container: 'app' });
    }
  });
  after(() => t.close());

  /** The names of the lines a query finds, oldest first. */
  async function found(query: Record<string, string | string[]>): Promise<string[]> {
    const { lines } = await queryJson(t.http, { namespace: 'shop', direction: 'forward', ...query });
    return lines.map((line) => names.get(line.message) ?? line.message);
  }

  it('finds the lines whose field has the value: a format’s field, a sent one, a JSON message’s key; never a plain text', async () => {
    assert.deepEqual(await found({ field: 'status:500' }), ['nginx 500', 'sent 500', 'json 500']);
    assert.deepEqual(await found({ field: 'path:/health' }), ['nginx 200']);
    assert.deepEqual(await found({ field: 'route:/pay' }), ['json 500']);
  });

  it('writes numbers as JSON does and booleans as true or false, compared exactly, case and all', async () => {
    assert.deepEqual(await found({ field: 'request_time:0.004' }), ['nginx 500']);
    assert.deepEqual(await found({ field: 'request_time:0.25' }), ['nginx 200 post']);
    assert.deepEqual(await found({ field: 'latency:0.25' }), ['json 500']);
    assert.deepEqual(await found({ field: 'cached:true' }), ['sent 500']);
    assert.deepEqual(await found({ field: 'ok:false' }), ['json 500']);
    assert.deepEqual(await found({ field: 'cached:True' }), []);
    assert.deepEqual(await found({ field: 'method:get' }), []);
    assert.deepEqual(await found({ field: 'status:50' }), []);
  });

  it('splits at the first colon: a value may hold colons and commas, or be empty', async () => {
    assert.deepEqual(await found({ field: 'upstream:10.0.0.1:8080' }), ['sent 500']);
    assert.deepEqual(await found({ field: 'user:' }), ['sent 500']);
    assert.deepEqual(await found({ field: 'kind:from json' }), ['clash']);
  });

  it('takes only plain values of a JSON object message: no nested objects, arrays, or messages that are not objects', async () => {
    assert.deepEqual(await found({ field: 'nested:[object Object]' }), []);
    assert.deepEqual(await found({ field: 'list:1' }), []);
    assert.deepEqual(await found({ pod: 'api-3', exclude_field: 'status:500' }), ['plain', 'array', 'broken json']);
  });

  it('lets the line’s fields win over its JSON message’s keys', async () => {
    assert.deepEqual(await found({ field: 'route:/sent' }), ['clash']);
    assert.deepEqual(await found({ field: 'route:/json' }), []);
  });

  it('requires every field term, leaves out lines an exclude_field names, and keeps lines without that field', async () => {
    assert.deepEqual(await found({ field: ['status:500', 'method:GET'] }), ['nginx 500']);
    assert.deepEqual(await found({ exclude_field: 'status:200' }), SENT.map((s) => s.name).filter((name) => !['nginx 200', 'nginx 200 post', 'json 200'].includes(name)));
    assert.deepEqual(await found({ pod: 'web-1', exclude_field: ['status:200', 'status:500'] }), []);
    assert.deepEqual(await found({ field: 'status:500', exclude_field: 'upstream:10.0.0.1:8080', q: 'e' }), ['nginx 500', 'json 500']);
  });

  it('counts only the lines the field terms keep, in stats and label values', async () => {
    const stats = await t.http.get('/api/v1/stats').query({ format: 'json', namespace: 'shop', since: '1h', by: 'pod', field: 'status:500' });
    assert.equal(stats.status, 200, JSON.stringify(stats.body));
    assert.equal(stats.body.total, 3);
    const pods: Record<string, number> = {};
    for (const bucket of stats.body.buckets as { counts: Record<string, number> }[]) for (const [pod, n] of Object.entries(bucket.counts)) pods[pod] = (pods[pod] ?? 0) + n;
    assert.deepEqual(pods, { 'api-1': 1, 'api-2': 1, 'web-1': 1 });

    const excluded = await t.http.get('/api/v1/stats').query({ format: 'json', namespace: 'shop', since: '1h', exclude_field: 'status:200' });
    assert.equal(excluded.body.total, SENT.length - 3);

    const labels = await t.http.get('/api/v1/labels/pod').query({ format: 'json', namespace: 'shop', field: 'status:500', exclude_field: 'method:GET' });
    assert.equal(labels.status, 200, JSON.stringify(labels.body));
    assert.deepEqual(
      (labels.body.values as { value: string; lines: number }[]).map(({ value, lines }) => ({ value, lines })),
      [
        { value: 'api-1', lines: 1 },
        { value: 'api-2', lines: 1 },
      ],
    );
  });

  it('tails the lines the field terms keep: the newest first, then each new one as it is stored', async () => {
    const tail = new TailClient(`${tailUrl}?namespace=shop,live&field=status:500&format=ndjson&limit=2`);
    assert.equal((await tail.opened()).statusCode, 200);
    const nameOf = (line: string) => names.get((JSON.parse(line) as { message: string }).message) ?? (JSON.parse(line) as { message: string }).message;
    assert.deepEqual((await tail.waitFor(2)).map(nameOf), ['sent 500', 'json 500']);
    await ingestLines(
      t.http,
      [
        { message: nginx('GET', '/later', 200, '0.001'), format: 'nginx-access' },
        { message: '{"status":"404"}' },
        { message: 'later, sent', fields: { status: 500 } },
        { message: '{"status":500,"at":"later"}' },
        { message: nginx('DELETE', '/later', 500, '0.001'), format: 'nginx-access' },
      ],
      { namespace: 'live', pod: 'live-1', container: 'app' },
    );
    const lines = (await tail.waitFor(5)).map(nameOf);
    assert.deepEqual(lines, ['sent 500', 'json 500', 'later, sent', '{"status":500,"at":"later"}', nginx('DELETE', '/later', 500, '0.001')]);
    tail.request.destroy();
  });

  it('refuses a cursor from a query with other field terms, and takes it back with the same', async () => {
    const first = await queryJson(t.http, { field: 'status:500', limit: '1' });
    assert.ok(first.nextCursor);
    for (const other of [{ field: 'status:200' }, { field: 'status:500', exclude_field: 'method:GET' }, { exclude_field: 'status:500' }]) {
      const response = await t.http.get('/api/v1/logs').query({ ...other, limit: '1', cursor: first.nextCursor });
      assert.equal(response.status, 400, JSON.stringify(other));
      assert.deepEqual(response.body, { error: 'cursor belongs to a query with other filters; repeat that query or start again without it', param: 'cursor' });
    }
    const next = await queryJson(t.http, { field: 'status:500', limit: '1', cursor: first.nextCursor });
    assert.equal(next.lines.length, 1);
  });

  const FORM = (param: string) =>
    `${param} takes name:value, e.g. ${param}=status:500: a name of 1 to 100 characters without ":", then the value (it may be empty, and hold ":"), at most 1000 characters in all, without control characters`;
  const refused: [string, Record<string, string | string[]>, { error: string; param: string }][] = [
    ['no colon', { field: 'status' }, { error: FORM('field'), param: 'field' }],
    ['an empty name', { field: ':500' }, { error: FORM('field'), param: 'field' }],
    ['an empty parameter', { field: '' }, { error: FORM('field'), param: 'field' }],
    ['a name of 101 characters', { field: `${'n'.repeat(101)}:1` }, { error: FORM('field'), param: 'field' }],
    ['1001 characters in all', { field: `status:${'v'.repeat(994)}` }, { error: FORM('field'), param: 'field' }],
    ['a control character in the value', { field: 'status:5\u00010' }, { error: FORM('field'), param: 'field' }],
    ['a newline in the name', { exclude_field: 'sta\ntus:500' }, { error: FORM('exclude_field'), param: 'exclude_field' }],
    ['17 field terms', { field: Array.from({ length: 17 }, (_, i) => `f${i}:1`) }, { error: 'at most 16 field and exclude_field terms in all', param: 'field' }],
    [
      '9 field and 8 exclude_field terms',
      { field: Array.from({ length: 9 }, (_, i) => `f${i}:1`), exclude_field: Array.from({ length: 8 }, (_, i) => `g${i}:1`) },
      { error: 'at most 16 field and exclude_field terms in all', param: 'exclude_field' },
    ],
  ];
  for (const [what, query, body] of refused) {
    it(`answers 400 naming the parameter and its form for ${what}, on every endpoint that takes the filters`, async () => {
      for (const path of ['/api/v1/logs', '/api/v1/stats', '/api/v1/labels/pod', '/api/v1/tail']) {
        const response = await t.http.get(path).query(query);
        assert.equal(response.status, 400, `${path}: ${JSON.stringify(response.body)}`);
        assert.deepEqual(response.body, body, path);
      }
    });
  }

  it('takes 16 field terms in all, and a name of 100 characters with a whole of 1000', async () => {
    const sixteen = { field: Array.from({ length: 8 }, (_, i) => `f${i}:1`), exclude_field: Array.from({ length: 8 }, (_, i) => `g${i}:1`) };
    assert.deepEqual(await found(sixteen), []);
    assert.deepEqual(await found({ field: `${'n'.repeat(100)}:${'v'.repeat(899)}` }), []);
  });
});
