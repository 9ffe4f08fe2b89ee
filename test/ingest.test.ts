import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { gzipSync } from 'node:zlib';
import { refuseUndeclaredGzip } from '../apps/aggregator/src/ingest/ingest-body-parsers';
import { holdPostgresWrites } from './support/postgres-cluster';
import { HOUR, MINUTE, TestApp, queryJson, startTestApp, withoutCursor } from './support/test-app';

const UNDECLARED_GZIP = "the body is gzip-compressed but has no Content-Encoding: gzip header: add -H 'Content-Encoding: gzip', or send it uncompressed";

describe('POST /api/v1/logs', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp({ env: { DAYLOG_MAX_BODY_BYTES: '65536', DAYLOG_MAX_LINE_BYTES: '1024' } });
  });
  after(() => t.close());

  /** Sends the bytes as given: superagent would otherwise serialise a Buffer as a JSON object. */
  const post = (contentType: string, body: string | Buffer, query = '') =>
    t.http
      .post(`/api/v1/logs${query}`)
      .set('Content-Type', contentType)
      .serialize((data: unknown) => data as string)
      .send(body);

  async function storedMessages(pod: string): Promise<string[]> {
    const { lines } = await queryJson(t.http, { pod, direction: 'forward', limit: '5000' });
    return lines.map((line) => line.message);
  }

  describe('formats', () => {
    it('stores a JSON batch with labels, each line taking the batch labels it does not give', async () => {
      const response = await post(
        'application/json',
        JSON.stringify({
          labels: { namespace: 'shop', pod: 'json-batch', container: 'nginx' },
          lines: [
            { message: 'GET / 200', source: 'access.log', fields: { status: 200, method: 'GET', cached: false } },
            { message: 'upstream timed out', level: 'ERR', container: 'sidecar', ts: '2026-11-24T09:59:00.5Z' },
          ],
        }),
      );
      assert.equal(response.status, 200);
      assert.deepEqual(response.body, { accepted: 2, rejected: [], duplicate: false });
      const { lines } = await queryJson(t.http, { pod: 'json-batch', direction: 'forward' });
      assert.deepEqual(lines.map(withoutCursor), [
        {
          ts: '2026-11-24T09:59:00.500Z',
          level: 'error',
          namespace: 'shop',
          pod: 'json-batch',
          container: 'sidecar',
          source: null,
          message: 'upstream timed out',
        },
        {
          ts: new Date(t.clock.now()).toISOString(),
          level: 'info',
          namespace: 'shop',
          pod: 'json-batch',
          container: 'nginx',
          source: 'access.log',
          message: 'GET / 200',
          fields: { status: 200, method: 'GET', cached: false },
        },
      ]);
    });

    it('stores a bare JSON array, labels from the query string', async () => {
      const response = await post('application/json', JSON.stringify([{ message: 'a' }, { message: 'b' }]), '?pod=json-array&namespace=ns');
      assert.deepEqual(response.body, { accepted: 2, rejected: [], duplicate: false });
      const { lines } = await queryJson(t.http, { pod: 'json-array', direction: 'forward' });
      assert.deepEqual(lines.map((l) => [l.namespace, l.message]), [['ns', 'a'], ['ns', 'b']]);
    });

    it('stores NDJSON, rejecting only the line that is not JSON', async () => {
      const body = '{"message":"one","pod":"ndjson"}\n{not json}\n\n{"message":"three","pod":"ndjson"}\n';
      const response = await post('application/x-ndjson', body);
      assert.equal(response.status, 200);
      assert.equal(response.body.accepted, 2);
      assert.equal(response.body.rejected.length, 1);
      assert.equal(response.body.rejected[0].index, 1);
      assert.match(response.body.rejected[0].reason, /^not valid JSON/);
      assert.deepEqual(await storedMessages('ndjson'), ['one', 'three']);
    });

    it('stores text/plain lines with labels, source and level from the query string, skipping empty lines', async () => {
      const response = await post('text/plain', '[error] first\r\n\n[error] second\n', '?pod=text&source=error.log&level=crit');
      assert.deepEqual(response.body, { accepted: 2, rejected: [], duplicate: false });
      const { lines } = await queryJson(t.http, { pod: 'text', direction: 'forward' });
      assert.deepEqual(lines.map((l) => [l.level, l.source, l.message]), [
        ['fatal', 'error.log', '[error] first'],
        ['fatal', 'error.log', '[error] second'],
      ]);
    });

    for (const [contentType, body] of [
      ['application/json', JSON.stringify({ labels: { pod: 'gzip-json' }, lines: [{ message: 'zipped json' }] })],
      ['application/x-ndjson', '{"message":"zipped ndjson","pod":"gzip-ndjson"}\n'],
      ['text/plain', 'zipped text\n'],
    ]) {
      it(`inflates a gzip ${contentType} body`, async () => {
        const pod = `gzip-${contentType.split(/[/-]/).pop()}`;
        const query = `?pod=${contentType === 'text/plain' ? 'gzip-plain' : pod}`;
        const response = await post(contentType, gzipSync(body), query).set('Content-Encoding', 'gzip');
        assert.deepEqual(response.body, { accepted: 1, rejected: [], duplicate: false });
      });
    }

    it('answers the gzip bodies with their lines stored', async () => {
      assert.deepEqual(await storedMessages('gzip-json'), ['zipped json']);
      assert.deepEqual(await storedMessages('gzip-ndjson'), ['zipped ndjson']);
      assert.deepEqual(await storedMessages('gzip-plain'), ['zipped text']);
    });
  });

  describe('messages in a known format', () => {
    const access = (status: number, minute: number) =>
      `10.0.0.7 - - [24/Nov/2026:09:${String(minute).padStart(2, '0')}:00 +0000] "GET /cart?id=${minute} HTTP/1.1" ${status} 512 "-" "curl/8.5"`;

    it('takes time, level and fields from an nginx access line sent as text with format=nginx-access', async () => {
      const body = [access(200, 10), access(503, 11), 'WARN upstream is slow', access(404, 12)].join('\n');
      const response = await post('text/plain', body, '?pod=nginx-text&source=access.log&format=nginx-access');
      assert.deepEqual(response.body, { accepted: 4, rejected: [], duplicate: false });
      const { lines } = await queryJson(t.http, { pod: 'nginx-text', direction: 'forward' });
      assert.deepEqual(
        lines.map((l) => [l.ts, l.level, l.fields?.status ?? null, l.fields?.path ?? null, l.format]),
        [
          ['2026-11-24T09:10:00.000Z', 'info', 200, '/cart?id=10', 'nginx-access'],
          ['2026-11-24T09:11:00.000Z', 'error', 503, '/cart?id=11', 'nginx-access'],
          ['2026-11-24T09:12:00.000Z', 'warn', 404, '/cart?id=12', 'nginx-access'],
          // Not in the format after all: read as plain text, at the time it arrived.
          [new Date(t.clock.now()).toISOString(), 'warn', null, null, 'nginx-access'],
        ],
      );
      assert.deepEqual(lines[0].fields, {
        remote_addr: '10.0.0.7', status: 200, method: 'GET', path: '/cart?id=10', protocol: 'HTTP/1.1', bytes: 512, user_agent: 'curl/8.5',
      });
    });

    it('keeps what a JSON line says over what its message says, and fields it was sent with over derived ones', async () => {
      const response = await post(
        'application/json',
        JSON.stringify({
          labels: { pod: 'nginx-json' },
          lines: [
            { message: access(500, 20), format: 'nginx-access' },
            { message: access(500, 21), format: 'nginx-access', level: 'debug', ts: '2026-11-24T09:50:00Z', fields: { status: 'masked', trace: 't-1' } },
          ],
        }),
      );
      assert.deepEqual(response.body, { accepted: 2, rejected: [], duplicate: false });
      const { lines } = await queryJson(t.http, { pod: 'nginx-json', direction: 'forward' });
      assert.deepEqual(
        lines.map((l) => [l.ts, l.level, l.fields?.status, l.fields?.trace ?? null, l.fields?.method]),
        [
          ['2026-11-24T09:20:00.000Z', 'error', 500, null, 'GET'],
          ['2026-11-24T09:50:00.000Z', 'debug', 'masked', 't-1', 'GET'],
        ],
      );
    });

    /** nginx's error log header at `offsetMs` from the test's clock: local time with no zone, UTC here. */
    const errorLine = (offsetMs: number, severity: string, rest: string) =>
      `${new Date(t.clock.now() + offsetMs).toISOString().slice(0, 19).replaceAll('-', '/').replace('T', ' ')} [${severity}] 31#31: ${rest}`;

    it('takes time, level and fields from nginx error lines sent as text with format=nginx-error', async () => {
      const body = [
        errorLine(-5 * MINUTE, 'notice', 'using the "epoll" event method'),
        errorLine(-4 * MINUTE, 'error', '*7 connect() failed (111: Connection refused) while connecting to upstream, client: 10.0.0.7, server: shop.example, request: "POST /api/orders HTTP/1.1", upstream: "http://10.0.0.9:8080/api/orders", host: "shop.example", referrer: "https://shop.example/cart"'),
        errorLine(-3 * MINUTE, 'warn', '*9 an upstream response is buffered to a temporary file, client: 10.0.0.8, server: , request: "GET /report HTTP/1.1"'),
        errorLine(-2 * MINUTE, 'crit', '*11 SSL_do_handshake() failed'),
        errorLine(-1 * MINUTE, 'debug', '*12 http keepalive handler'),
        'nginx: [emerg] unexpected end of file',
      ].join('\n');
      const response = await post('text/plain', body, '?pod=nginx-errors&source=error.log&format=nginx-error');
      assert.deepEqual(response.body, { accepted: 6, rejected: [], duplicate: false });
      const { lines } = await queryJson(t.http, { pod: 'nginx-errors', direction: 'forward' });
      const at = (offsetMs: number) => new Date(t.clock.now() + offsetMs).toISOString();
      assert.deepEqual(
        lines.map((l) => [l.ts, l.level, l.format]),
        [
          [at(-5 * MINUTE), 'info', 'nginx-error'],
          [at(-4 * MINUTE), 'error', 'nginx-error'],
          [at(-3 * MINUTE), 'warn', 'nginx-error'],
          [at(-2 * MINUTE), 'fatal', 'nginx-error'],
          [at(-1 * MINUTE), 'debug', 'nginx-error'],
          // Not in the format after all: read as plain text, at the time it arrived.
          [at(0), 'info', 'nginx-error'],
        ],
      );
      assert.deepEqual(lines.map((l) => l.fields ?? null), [
        { pid: 31, tid: 31 },
        {
          pid: 31, tid: 31, connection: 7, client: '10.0.0.7', server: 'shop.example', request: 'POST /api/orders HTTP/1.1',
          upstream: 'http://10.0.0.9:8080/api/orders', host: 'shop.example', referrer: 'https://shop.example/cart',
        },
        { pid: 31, tid: 31, connection: 9, client: '10.0.0.8', request: 'GET /report HTTP/1.1' },
        { pid: 31, tid: 31, connection: 11 },
        { pid: 31, tid: 31, connection: 12 },
        null,
      ]);
    });

    it('rejects a format it does not know, per line and in the query string', async () => {
      const response = await post('application/json', JSON.stringify([{ message: 'a', format: 'apache' }, { message: 'b' }]), '?pod=nginx-bad');
      assert.deepEqual(response.body.rejected, [{ index: 0, reason: 'format must be one of nginx-access, nginx-error' }]);
      const query = await post('text/plain', 'x', '?pod=nginx-bad&format=apache');
      assert.equal(query.status, 400);
      assert.equal(query.body.param, 'format');
      assert.match(query.body.error, /format must be one of nginx-access, nginx-error/);
    });
  });

  describe('epoch times, read by their number of digits', () => {
    const seconds = () => Math.floor(t.clock.now() / 1000) - 60;
    const cases: [string, () => number | string, () => number][] = [
      ['seconds, as a number (date +%s)', () => seconds(), () => seconds() * 1000],
      ['seconds, as a string', () => String(seconds() - 1), () => (seconds() - 1) * 1000],
      ['seconds with a fraction, as a number', () => seconds() - 2 + 0.25, () => (seconds() - 2) * 1000 + 250],
      ['seconds with a fraction, as a string', () => `${seconds() - 3}.123456`, () => (seconds() - 3) * 1000 + 123],
      ['milliseconds (Date.now())', () => t.clock.now() - 4321, () => t.clock.now() - 4321],
      ['microseconds', () => `${t.clock.now() - 5000}789`, () => t.clock.now() - 5000],
      ['nanoseconds (Go UnixNano)', () => `${t.clock.now() - 6000}123456`, () => t.clock.now() - 6000],
    ];
    for (const [what, ts, storedMs] of cases) {
      it(`stores a line whose ts is ${what} at its time`, async () => {
        const response = await post('application/json', JSON.stringify([{ pod: 'epoch', message: what, ts: ts() }]));
        assert.deepEqual(response.body, { accepted: 1, rejected: [], duplicate: false });
        const { lines } = await queryJson(t.http, { pod: 'epoch', q: what });
        assert.deepEqual(lines.map((l) => l.ts), [new Date(storedMs()).toISOString()]);
      });
    }

    const refused: [string, () => number | string, RegExp][] = [
      ['more than 19 digits', () => `${t.clock.now()}0000000`, /^ts has 20 digits, more than nanoseconds have \(19\): it must be an RFC 3339 time/],
      ['a fraction after milliseconds', () => `${t.clock.now()}.5`, /^ts has a fraction, which means seconds, and 13 digits before the point/],
      ['a negative number', () => -seconds(), /^ts must be an RFC 3339 time \(2026-11-24T10:00:00Z\) or an epoch time read by its number of digits/],
    ];
    for (const [what, ts, reason] of refused) {
      it(`refuses a ts with ${what}, saying how epoch times are read`, async () => {
        const response = await post('application/json', JSON.stringify([{ pod: 'epoch-bad', message: 'm', ts: ts() }, { pod: 'epoch-bad', message: 'ok' }]));
        assert.equal(response.body.rejected.length, 1);
        assert.match(response.body.rejected[0].reason, reason);
      });
    }
  });

  describe('per-line validation', () => {
    const now = () => t.clock.now();
    const cases: [string, object | (() => object), RegExp][] = [
      ['a line that is not an object', ['just text'], /must be a JSON object/],
      ['a missing message', { level: 'info' }, /message is required/],
      ['an empty message', { message: '' }, /message is required/],
      ['a message over DAYLOG_MAX_LINE_BYTES', { message: 'é'.repeat(600) }, /longer than 1024 bytes/],
      ['an unknown level', { message: 'm', level: 'loud' }, /level must be one of trace, debug, info/],
      ['a ts older than the retention', () => ({ message: 'm', ts: now() - 25 * HOUR }), /older than the retention/],
      ['a ts more than 5 minutes ahead', () => ({ message: 'm', ts: now() + 6 * MINUTE }), /5 minutes in the future/],
      ['a ts that is not a time', { message: 'm', ts: 'yesterday' }, /ts must be an RFC 3339 time/],
      ['a fractional epoch of 1970', { message: 'm', ts: 1.5 }, /older than the retention/],
      ['nested fields', { message: 'm', fields: { a: { b: 1 } } }, /fields\.a must be a string, number or boolean/],
      ['fields that are not an object', { message: 'm', fields: [1] }, /fields must be a flat object/],
      ['an unknown key', { message: 'm', msg: 'x' }, /unknown field "msg"/],
      ['a label longer than 253', { message: 'm', container: 'c'.repeat(254) }, /container is longer than 253/],
      ['a label that is not a string', { message: 'm', namespace: 5 }, /namespace must be a string/],
      ['a label with a control character', { message: 'm', source: 'a\u0000b' }, /source must not contain control characters/],
    ];
    for (const [what, line, reason] of cases) {
      it(`rejects ${what} by its index and keeps its neighbours`, async () => {
        const bad = typeof line === 'function' ? line() : Array.isArray(line) ? (line[0] as object) : line;
        const lines = [{ message: 'good before' }, bad, { message: 'good after' }];
        const response = await post('application/json', JSON.stringify({ labels: { pod: 'mixed' }, lines }));
        assert.equal(response.status, 200);
        assert.equal(response.body.accepted, 2);
        assert.equal(response.body.rejected.length, 1);
        assert.equal(response.body.rejected[0].index, 1);
        assert.match(response.body.rejected[0].reason, reason);
      });
    }

    it('rejects a field number too large for a double rather than store it as null', async () => {
      const response = await post('application/json', '[{"pod":"big","message":"m","fields":{"n":1e400}},{"pod":"big","message":"ok"}]');
      assert.deepEqual(response.body.rejected, [{ index: 0, reason: 'fields.n must be a finite number' }]);
    });

    it('rejects a line with no pod anywhere', async () => {
      const response = await post('application/json', JSON.stringify([{ message: 'orphan' }, { message: 'ok', pod: 'has-pod' }]));
      assert.equal(response.status, 200);
      assert.deepEqual(response.body.rejected, [
        { index: 0, reason: 'pod is required: give it in the line, the batch labels or the query string' },
      ]);
    });

    it('normalises level aliases, case-insensitively, to the six canonical levels', async () => {
      const aliases = ['TRACE', 'debug', 'Notice', 'warning', 'err', 'CRIT', 'critical', 'alert', 'emerg', 'panic'];
      const lines = aliases.map((level, i) => ({ message: `m${i}`, level, ts: t.clock.now() - 1000 + i }));
      await post('application/json', JSON.stringify({ labels: { pod: 'levels' }, lines }));
      const stored = await queryJson(t.http, { pod: 'levels', direction: 'forward' });
      assert.deepEqual(
        stored.lines.map((l) => l.level),
        ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'fatal', 'fatal', 'fatal', 'fatal'],
      );
    });

    it('answers 400 with every rejection when no line is valid', async () => {
      const response = await post('application/json', JSON.stringify({ labels: { pod: 'bad' }, lines: [{ level: 'x' }, {}] }));
      assert.equal(response.status, 400);
      assert.deepEqual(response.body, {
        error: 'no valid line',
        accepted: 0,
        rejected: [
          { index: 0, reason: 'message is required and must be a non-empty string' },
          { index: 1, reason: 'message is required and must be a non-empty string' },
        ],
      });
    });
  });

  describe('Idempotency-Key', () => {
    it('stores a resent batch once and answers the resend as a duplicate', async () => {
      const batch = JSON.stringify({ labels: { pod: 'idempotent' }, lines: [{ message: 'once' }, { message: 'twice?' }] });
      const first = await post('application/json', batch).set('Idempotency-Key', 'shipper-a:inode-7:0-120');
      assert.deepEqual(first.body, { accepted: 2, rejected: [], duplicate: false });
      const again = await post('application/json', batch).set('Idempotency-Key', 'shipper-a:inode-7:0-120');
      assert.deepEqual(again.body, { accepted: 0, rejected: [], duplicate: true });
      const otherBody = await post('application/json', '[{"message":"other","pod":"idempotent"}]').set(
        'Idempotency-Key',
        'shipper-a:inode-7:0-120',
      );
      assert.deepEqual(otherBody.body, { accepted: 0, rejected: [], duplicate: true });
      assert.deepEqual(await storedMessages('idempotent'), ['once', 'twice?']);
    });

    it('stores one copy when the same key arrives twice at once', async () => {
      const send = () =>
        post('application/json', '[{"message":"racing","pod":"race"}]').set('Idempotency-Key', 'race-key');
      const answers = await Promise.all([send(), send(), send()]);
      assert.deepEqual(answers.map((a) => a.body.duplicate).sort(), [false, true, true]);
      assert.deepEqual(await storedMessages('race'), ['racing']);
    });

    it('does not record a key for a batch with no valid line, so a corrected resend is stored', async () => {
      const bad = await post('application/json', '[{"pod":"fixed"}]').set('Idempotency-Key', 'fix-me');
      assert.equal(bad.status, 400);
      const good = await post('application/json', '[{"pod":"fixed","message":"fixed"}]').set('Idempotency-Key', 'fix-me');
      assert.deepEqual(good.body, { accepted: 1, rejected: [], duplicate: false });
    });
  });

  describe('errors', () => {
    const cases: [string, () => ReturnType<typeof post>, number, object | RegExp][] = [
      ['a body that is not JSON', () => post('application/json', '{"lines": [}'), 400, { error: /not valid JSON/, at: 11 }],
      ['a long body with an unexpected token', () => post('application/json', '{"lines": [{"message": "a"}, }, {"message": "b"}]'), 400, { at: 29 }],
      ['a body cut short', () => post('application/json', '{"lines": [1, 2'), 400, { at: 15 }],
      ['JSON that is neither a batch nor an array', () => post('application/json', '"hello"'), 400, { error: /must be \{"labels"/ }],
      ['a batch with an unknown key', () => post('application/json', '{"lines":[],"label":{}}'), 400, { error: /unknown key "label"/ }],
      ['a batch whose lines is not an array', () => post('application/json', '{"lines":{}}'), 400, { error: /"lines" must be an array/ }],
      ['a batch with an unknown label', () => post('application/json', '{"labels":{"host":"x"},"lines":[{"message":"m"}]}'), 400, { error: /labels\.host is not a label/ }],
      ['a batch label that is not a string', () => post('application/json', '{"labels":{"pod":1},"lines":[{"message":"m"}]}'), 400, { error: 'labels.pod must be a string' }],
      ['labels that are not an object', () => post('application/json', '{"labels":"pod","lines":[{"message":"m"}]}'), 400, { error: /"labels" must be an object/ }],
      ['an empty batch', () => post('application/json', '{"lines":[]}'), 400, { error: 'the batch has no lines', accepted: 0, rejected: [] }],
      ['an empty text body', () => post('text/plain', '\n\n', '?pod=p'), 400, { error: 'the batch has no lines' }],
      ['an empty JSON body', () => post('application/json', ''), 400, { error: /not valid JSON|empty/ }],
      ['a request with no body at all', () => t.http.post('/api/v1/logs?pod=p'), 400, { error: /the request has no body/ }],
      ['an unknown query parameter', () => post('text/plain', 'm', '?pod=p&host=x'), 400, { error: /unknown parameter "host"; accepted: namespace, pod/, param: 'host' }],
      ['a level in the query string that is not one', () => post('text/plain', 'm', '?pod=p&level=loud'), 400, { param: 'level' }],
      ['a repeated label in the query string', () => post('text/plain', 'm', '?pod=a&pod=b'), 400, { param: 'pod' }],
      ['an Idempotency-Key over 200 characters', () => post('text/plain', 'm', '?pod=p').set('Idempotency-Key', 'k'.repeat(201)), 400, { error: /Idempotency-Key must be 1 to 200/ }],
      ['a body over DAYLOG_MAX_BODY_BYTES', () => post('text/plain', 'x'.repeat(70_000), '?pod=p'), 413, { error: /larger than 65536 bytes/ }],
      ['a small gzip that inflates past the limit', () => post('text/plain', gzipSync(Buffer.alloc(50_000_000, 'a')), '?pod=p').set('Content-Encoding', 'gzip'), 413, { error: /larger than 65536 bytes/ }],
      ['a gzip header on a body that is not gzip', () => post('text/plain', 'plain', '?pod=p').set('Content-Encoding', 'gzip'), 400, { error: 'the body is not valid gzip' }],
      ['an encoding other than gzip', () => post('text/plain', 'm', '?pod=p').set('Content-Encoding', 'br'), 415, { error: /Content-Encoding "br" is not accepted/ }],
      ['a gzip text body without Content-Encoding', () => post('text/plain', gzipSync('m\n'), '?pod=p'), 400, { error: UNDECLARED_GZIP }],
      ['a gzip NDJSON body without Content-Encoding', () => post('application/x-ndjson', gzipSync('{"pod":"p","message":"m"}\n')), 400, { error: UNDECLARED_GZIP }],
      ['a gzip JSON body without Content-Encoding', () => post('application/json', gzipSync('[{"pod":"p","message":"m"}]')), 400, { error: UNDECLARED_GZIP }],
      ['a gzip Loki push without Content-Encoding', () => t.http.post('/loki/api/v1/push').set('Content-Type', 'application/json').serialize((data: unknown) => data as string).send(gzipSync(JSON.stringify({ streams: [{ stream: { pod: 'p' }, values: [[`${t.clock.now()}000000`, 'm']] }] }))), 400, { error: UNDECLARED_GZIP }],
      ['a content type not listed', () => post('application/xml', '<log/>'), 415, { error: /Content-Type "application\/xml" is not accepted/ }],
    ];
    for (const [what, send, status, expected] of cases) {
      it(`answers ${status} for ${what}`, async () => {
        const response = await send();
        assert.equal(response.status, status, JSON.stringify(response.body));
        for (const [key, value] of Object.entries(expected)) {
          if (value instanceof RegExp) assert.match(String(response.body[key]), value);
          else assert.deepEqual(response.body[key], value);
        }
        assert.equal(typeof response.body.error, 'string');
      });
    }

    it('goes on answering after a gzip body sent without Content-Encoding on a request whose body is not read', async () => {
      const response = await t.http.delete('/api/v1/logs').serialize((data: unknown) => data as string).send(gzipSync('m'));
      assert.equal(response.request.getHeader('Content-Type'), undefined);
      assert.equal(response.status, 404);
      assert.equal((await t.http.get('/healthz')).status, 200);
    });

    it('stores nothing from any refused request', async () => {
      const { lines } = await queryJson(t.http, { pod: 'p' });
      assert.deepEqual(lines, []);
    });
  });
});

describe('a body sent without Content-Encoding', () => {
  const through = (...chunks: number[][]) => buffer(refuseUndeclaredGzip(Readable.from(chunks.map((chunk) => Buffer.from(chunk)))));

  it('is refused when it begins with the gzip magic bytes, even when they arrive apart', async () => {
    await assert.rejects(through([0x1f, 0x8b, 0x08]), { statusCode: 400, message: UNDECLARED_GZIP });
    await assert.rejects(through([0x1f], [0x8b], [0x08, 0x00]), { statusCode: 400, message: UNDECLARED_GZIP });
  });

  it('is passed on whole otherwise, however short and however cut', async () => {
    assert.deepEqual([...(await through([0x1f], [0x00, 0x8b], [0x1f, 0x8b]))], [0x1f, 0x00, 0x8b, 0x1f, 0x8b]);
    assert.deepEqual([...(await through([0x1f]))], [0x1f]);
    assert.deepEqual([...(await through([0x6d]))], [0x6d]);
    assert.deepEqual([...(await through())], []);
  });
});

describe('POST /api/v1/logs when the writer is behind', () => {
  /** Clients of their own (identifyClients), each of which may hold half the queue. */
  const TOKENS = ['writer-token-number-01', 'writer-token-number-02', 'writer-token-number-03', 'writer-token-number-04'];
  const env = (queued: number, perRequest: number) => ({
    DAYLOG_MAX_QUEUED_LINES: String(queued),
    DAYLOG_MAX_LINES_PER_REQUEST: String(perRequest),
    DAYLOG_INGEST_TOKENS: TOKENS.join(','),
  });
  const WRITER_BEHIND = { error: 'the writer is behind; retry this batch later' };
  const SHARE_FULL = /^this client already has \d+ lines waiting to be written and may have at most \d+, half of DAYLOG_MAX_QUEUED_LINES: /;

  it('answers 503 with Retry-After and stores nothing of the refused batches', async () => {
    // The queue holds two batches, one per client: each waits for the ones before it to be committed.
    const t = await startTestApp({ env: env(1000, 500) });
    try {
      const batch = (i: number) => ({
        labels: { pod: `pressure-${i}` },
        lines: Array.from({ length: 500 }, (_, n) => ({ message: `line ${n}` })),
      });
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => t.http.post('/api/v1/logs').set('Authorization', `Bearer ${TOKENS[i % TOKENS.length]}`).send(batch(i))),
      );
      const withStatus = (status: number) => answers.flatMap((answer, i) => (answer.status === status ? [i] : []));
      const [behind, shareFull, stored] = [withStatus(503), withStatus(429), withStatus(200)];
      assert.equal(behind.length + shareFull.length + stored.length, 20);
      assert.ok(behind.length > 0, 'no batch was refused for the queue');
      assert.ok(stored.length > 0, 'every batch was refused');
      for (const i of behind) assert.deepEqual(answers[i].body, WRITER_BEHIND);
      for (const i of shareFull) assert.match(answers[i].body.error, SHARE_FULL);
      for (const i of [...behind, ...shareFull]) {
        assert.equal(answers[i].headers['retry-after'], '1');
        assert.deepEqual((await queryJson(t.http, { pod: `pressure-${i}` })).lines, []);
      }
      for (const i of stored) {
        assert.equal((await queryJson(t.http, { pod: `pressure-${i}`, limit: '1000' })).lines.length, 500);
      }
    } finally {
      await t.close();
    }
  });

  it('refuses a batch before reading its body, so that senders cannot make it hold their bodies meanwhile', async () => {
    const t = await startTestApp({ env: env(200_000, 100_000) });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    // PostgreSQL may write the first backlog before the second is queued: the test holds its writes meanwhile.
    const writes = t.config.postgres === null ? null : await holdPostgresWrites(t.config.postgres.url);
    try {
      const backlog = gzipSync(Buffer.alloc(200_000, 'y\n'));
      const queued = async () => Number(/^daylog_ingest_queued_lines (\d+)$/m.exec((await t.http.get('/metrics')).text)![1]);
      const queuedAtLeast = async (lines: number) => {
        const deadline = Date.now() + 10_000;
        while ((await queued()) < lines) {
          assert.ok(Date.now() < deadline, `${lines} lines never queued`);
          await sleep(5);
        }
      };
      const send = (token: string) =>
        t.http
          .post('/api/v1/logs?pod=backlog')
          .set('Authorization', `Bearer ${token}`)
          .set('Content-Type', 'text/plain')
          .set('Content-Encoding', 'gzip')
          .serialize((data: unknown) => data as string)
          .send(backlog)
          // then() sends it; a supertest request waits to be awaited otherwise.
          .then((response) => response);
      const backlogs = [send(TOKENS[0])];
      await queuedAtLeast(100_000);
      backlogs.push(send(TOKENS[1]));
      await queuedAtLeast(200_000);

      // Headers and the first bytes of a 1 MB body: the answer comes without the rest being sent.
      const { port } = t.app.getHttpServer().address() as AddressInfo;
      const answerBeforeBody = async (token: string) => {
        const socket = connect(port, '127.0.0.1');
        socket.write(
          `POST /api/v1/logs HTTP/1.1\r\nHost: daylog\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"lines": [`,
        );
        const answered = new Promise<string>((resolve) => {
          let text = '';
          socket.on('data', (chunk: Buffer) => {
            text += chunk.toString();
            if (text.endsWith('\n') && text.includes('\r\n\r\n{')) resolve(text);
          });
        });
        const answer = await Promise.race([answered, sleep(5000, 'no answer while the body was still to come')]);
        socket.destroy();
        return answer;
      };
      const [otherClient, sameClient] = await Promise.all([answerBeforeBody(TOKENS[2]), answerBeforeBody(TOKENS[0])]);
      assert.match(otherClient, /^HTTP\/1\.1 503 /);
      assert.match(otherClient, /\r\nretry-after: 1\r\n/i);
      assert.ok(otherClient.endsWith(`${JSON.stringify(WRITER_BEHIND)}\n`));
      assert.match(sameClient, /^HTTP\/1\.1 429 /);
      assert.match(sameClient, /\r\nretry-after: 1\r\n/i);
      assert.match(JSON.parse(sameClient.slice(sameClient.indexOf('\r\n\r\n') + 4)).error, SHARE_FULL);
      await writes?.release();
      for (const answer of await Promise.all(backlogs)) assert.equal(answer.status, 200);
    } finally {
      await writes?.release();
      await t.close();
    }
  });
});
