import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { compileUserRegex, jsonObjectsAbove, lineFields, linesAbove, messageHeader, normalizeLevel, parseDuration, parseMatchExpression, readTimestamp } from '@daylog/log-model';
import { PushTooLarge, decodeProtobufPush } from '@daylog/loki';
import { PushEntry, bombs, protobufPush } from './support/bombs';
import { TestApp, ingestLines, queryJson, startTestApp } from './support/test-app';

/** Enough runs to find the usual slips, few enough that the suite stays quick; failures print their seed. */
const RUNS = 150;

const QUERY_PARAMS = ['namespace', 'pod', 'container', 'source', 'level', 'min_level', 'since', 'from', 'to', 'q', 'exclude', 'match', 'regex', 'limit', 'direction', 'cursor', 'format', 'raw'];
/** Regexes that take exponential or high-degree polynomial time on a backtracking engine, and what no linear engine runs. */
const hostileRegex = fc.constantFrom('(.|.)*\\x00', '(x|x)*y', 'x*x*x*x*x*x*y', '(x+x+)+y', '(a)\\1', '(?<=x)y', 'x(?!y)', 'x{0,99999}');
/** Sends the bytes as given: superagent would otherwise serialise a Buffer sent as JSON as a JSON object. */
const asGiven = (data: unknown) => data as string;
/** Values a person or a program might send, and some nobody should. */
const anyValue = fc.oneof(
  fc.string(),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('*', '%', '_', "'", '"', '\\', "' OR 1=1 --", '%25', '1e309', '-1', '0', 'NaN', '9'.repeat(40), 'null', '[]', '{}', '(a+)+$', '"', '\u0000', 'é'),
  hostileRegex,
  fc.integer().map(String),
);

describe('hostile input never gets a 5xx', () => {
  let t: TestApp;

  before(async () => {
    t = await startTestApp();
    await ingestLines(t.http, [{ message: "it's 100% done_ok" }, { message: 'GET /a%20b HTTP/1.1 500', level: 'error' }], { namespace: 'meta', pod: 'web-1' });
    // What the regexes above freeze a backtracking engine on.
    await ingestLines(t.http, [{ message: 'x'.repeat(3000) }, { message: `${'x'.repeat(3000)}z` }], { namespace: 'long', pod: 'long-1' });
  });
  after(() => t.close());

  it('in any query parameter of /api/v1/logs, stats, labels and context', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v1/logs', '/api/v1/stats', '/api/v1/labels/pod', '/api/v1/logs/context'),
        fc.dictionary(fc.constantFrom(...QUERY_PARAMS, 'step', 'by', 'before', 'after', 'unknown'), fc.oneof(anyValue, fc.array(anyValue, { maxLength: 3 }))),
        async (path, query) => {
          const response = await t.http.get(path).query(query);
          assert.ok(response.status < 500, `${path} ${JSON.stringify(query)} → ${response.status} ${response.text.slice(0, 200)}`);
          if (response.status >= 400) assert.equal(typeof response.body.error, 'string');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('in regex=, answering each search however the expression would backtrack', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/api/v1/logs', '/api/v1/stats', '/api/v1/labels/pod'),
        fc.oneof(hostileRegex, fc.string()),
        fc.constantFrom({}, { namespace: 'long' }, { q: 'x' }, { since: '1h' }),
        async (path, regex, others) => {
          const response = await t.http.get(path).query({ regex, ...others });
          assert.ok(response.status === 200 || response.status === 400, `${path} ${regex} → ${response.status} ${response.text.slice(0, 200)}`);
          if (response.status === 400) assert.equal(response.body.param, 'regex');
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('in any body, content type and encoding sent to ingest and to the Loki push', async () => {
    const body = fc.oneof(
      fc.string(),
      fc.json(),
      fc.array(fc.oneof(fc.json(), fc.record({ message: anyValue, pod: anyValue, level: anyValue, ts: anyValue, fields: fc.jsonValue() })), { maxLength: 5 }).map((lines) => JSON.stringify(lines)),
      fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)),
      fc.constantFrom(...bombs().map((bomb) => bomb.body)),
    );
    const anyRequest = fc.record({
      path: fc.constantFrom('/api/v1/logs?pod=fuzz', '/loki/api/v1/push'),
      type: fc.constantFrom('application/json', 'application/x-ndjson', 'text/plain', 'application/x-protobuf', 'image/png'),
      encoding: fc.constantFrom(undefined, 'gzip', 'br'),
      payload: body,
    });
    // Each bomb as it is meant to be sent too, now and then (each costs a 16 MiB inflation).
    const bombRequest = fc.constantFrom(...bombs()).map((bomb) => ({ path: bomb.path, type: bomb.contentType, encoding: 'gzip', payload: bomb.body }));
    await fc.assert(
      fc.asyncProperty(fc.oneof({ arbitrary: anyRequest, weight: 14 }, { arbitrary: bombRequest, weight: 1 }), async ({ path, type, encoding, payload }) => {
        const request = t.http.post(path).set('Content-Type', type).serialize(asGiven);
        if (encoding) void request.set('Content-Encoding', encoding);
        const response = await request.send(payload);
        assert.ok(response.status < 500, `${path} ${type} ${encoding} → ${response.status} ${response.text.slice(0, 200)}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('treats SQL metacharacters and wildcards in filters as text', async () => {
    for (const [q, expected] of [
      ['100%', 1],
      ['done_ok', 1],
      ["it's", 1],
      ['%', 2],
      ['_', 1],
      ["' OR 1=1 --", 0],
      ['a%20b', 1],
    ] as const) {
      const response = await t.http.get('/api/v1/logs').query({ namespace: 'meta', q, format: 'json' });
      assert.equal(response.status, 200);
      assert.equal(response.body.lines.length, expected, q);
    }
    const star = await t.http.get('/api/v1/logs').query({ pod: "web-1' OR '1'='1", format: 'json' });
    assert.deepEqual(star.body.lines, []);
  });
});

describe('a flood of new label sets from a namespace-limited token', () => {
  const FLOOD_WRITER = 'flood-ingest-token-0123456789';
  const PAYMENTS_WRITER = 'payments-ingest-token-0123456789';
  /** Low, so that a flood of a few batches goes past it. */
  const CAP = 8;
  const LIMIT_REACHED =
    `namespace flood already has ${CAP} label sets with lines within the retention, the most DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE ` +
    'allows: a line of a new pod, container or source is refused until older ones pass the retention';
  const FORBIDDEN = 'namespace payments: this token may only write to flood';
  /** Keys the flood may claim, which the payments team's first batches use too. */
  const KEYS = ['k-0', 'k-1', 'k-2'];
  const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

  interface FloodLine {
    namespace: string;
    pod: string;
    container: string | undefined;
  }
  type Route = 'batch' | 'push';
  interface Rejection {
    index: number;
    reason: string;
  }
  /** An answer's status, and its whole body or how its error starts (Loki's 400 goes on to list more entries). */
  type Expected = { status: number; body: unknown } | { status: number; errorStart: string };

  /** What the server should make of the flood, line by line: its label sets up to the cap, its keys, what it stores. */
  class FloodModel {
    private readonly labelSets = new Set<string>();
    private readonly keys = new Set<string>();
    /** Each stored line as `pod/container message`. */
    readonly stored: string[] = [];

    answer(lines: FloodLine[], messages: string[], key: string | undefined, route: Route): Expected {
      if (key !== undefined && this.keys.has(key)) return { status: 200, body: { accepted: 0, rejected: [], duplicate: true } };
      const rejected: Rejection[] = [];
      lines.forEach((line, index) => {
        const labelSet = `${line.pod}/${line.container ?? ''}`;
        if (line.namespace !== 'flood') return rejected.push({ index, reason: FORBIDDEN });
        if (!this.labelSets.has(labelSet) && this.labelSets.size >= CAP) return rejected.push({ index, reason: LIMIT_REACHED });
        this.labelSets.add(labelSet);
        this.stored.push(`${labelSet} ${messages[index]}`);
      });
      const accepted = lines.length - rejected.length;
      if (rejected.every((r) => r.reason === FORBIDDEN) && accepted === 0) {
        return { status: 403, body: { error: `this token may not write these lines: ${FORBIDDEN}`, accepted: 0, rejected } };
      }
      if (accepted > 0 && key !== undefined) this.keys.add(key);
      if (route === 'batch') return { status: 200, body: { accepted, rejected, duplicate: false } };
      if (rejected.length === 0) return { status: 204, body: {} };
      const [first] = rejected;
      return { status: 400, errorStart: `${rejected.length} of ${lines.length} entries refused (${accepted} stored): entry ${first.index}: ${first.reason}` };
    }
  }

  function sendFlood(t: TestApp, lines: FloodLine[], messages: string[], key: string | undefined, route: Route) {
    if (route === 'push') {
      const labels = (line: FloodLine) => `{namespace="${line.namespace}", pod="${line.pod}"${line.container ? `, container="${line.container}"` : ''}}`;
      const streams = lines.map((line, i) => ({ labels: labels(line), entries: [{ ms: t.clock.now(), line: messages[i] }] }));
      return t.http.post('/loki/api/v1/push').set(bearer(FLOOD_WRITER)).set('Content-Type', 'application/x-protobuf').send(protobufPush(streams));
    }
    const request = t.http.post('/api/v1/logs').set(bearer(FLOOD_WRITER));
    if (key !== undefined) void request.set('Idempotency-Key', key);
    return request.send(lines.map((line, i) => ({ ...line, message: messages[i] })));
  }

  const floodLine: fc.Arbitrary<FloodLine> = fc.record({
    namespace: fc.oneof({ arbitrary: fc.constant('flood'), weight: 6 }, { arbitrary: fc.constant('payments'), weight: 1 }),
    pod: fc.nat({ max: 24 }).map((n) => `rollout-${n}`),
    container: fc.constantFrom(undefined, 'app', 'sidecar'),
  });
  /** A flood batch, and how many lines of the payments team are sent at the same time (0: none). */
  const step = fc.record({
    flood: fc.array(floodLine, { minLength: 1, maxLength: 30 }),
    route: fc.constantFrom<Route>('batch', 'push'),
    key: fc.constantFrom(undefined, ...KEYS),
    honestLines: fc.nat({ max: 5 }),
  });

  it("is refused past DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE, line by line, never with a 5xx, and never costs another namespace's batch", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const t = await startTestApp({
          env: { DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE: String(CAP), DAYLOG_INGEST_TOKENS: `${FLOOD_WRITER}=flood,${PAYMENTS_WRITER}=payments` },
        });
        try {
          const model = new FloodModel();
          const honestSent: string[] = [];
          let honestBatches = 0;
          for (const [s, { flood, route, key, honestLines }] of steps.entries()) {
            const messages = flood.map((_, i) => `flood ${s}.${i}`);
            const batchKey = route === 'batch' ? key : undefined;
            const expected = model.answer(flood, messages, batchKey, route);
            const honest = Array.from({ length: honestLines }, (_, i) => ({ message: `payments ${s}.${i}` }));
            const [answer, honestAnswer] = await Promise.all([
              sendFlood(t, flood, messages, batchKey, route),
              honest.length === 0
                ? undefined
                : t.http.post('/api/v1/logs').set(bearer(PAYMENTS_WRITER)).set('Idempotency-Key', `k-${honestBatches++}`).send({ labels: { namespace: 'payments', pod: 'ledger-1' }, lines: honest }),
            ]);
            const shown = `step ${s}: ${answer.status} ${answer.text.slice(0, 300)}`;
            assert.ok(answer.status < 500, shown);
            assert.equal(answer.status, expected.status, shown);
            if ('body' in expected) assert.deepEqual(answer.body, expected.body, shown);
            else assert.ok(String(answer.body.error).startsWith(expected.errorStart), shown);
            if (honestAnswer) assert.deepEqual(honestAnswer.body, { accepted: honest.length, rejected: [], duplicate: false }, `step ${s}, payments`);
            honestSent.push(...honest.map((line) => line.message));
          }
          const flood = (await queryJson(t.http, { namespace: 'flood', limit: '5000' })).lines;
          assert.deepEqual(flood.map((line) => `${line.pod}/${line.container ?? ''} ${line.message}`).sort(), [...model.stored].sort());
          assert.ok(new Set(flood.map((line) => `${line.pod}/${line.container}`)).size <= CAP);
          const payments = (await queryJson(t.http, { namespace: 'payments', limit: '5000' })).lines;
          assert.deepEqual(payments.map((line) => line.message).sort(), honestSent.sort());
        } finally {
          await t.close();
        }
      }),
      { numRuns: 12 },
    );
  });
});

describe('the parsers, for any text', () => {
  it('take no inherited property for a level', async () => {
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) assert.equal(normalizeLevel(name), undefined, name);
    const t = await startTestApp();
    try {
      const response = await t.http.post('/api/v1/logs').send([{ pod: 'p', message: 'x', level: 'constructor' }]);
      assert.equal(response.status, 400);
      assert.match(response.body.rejected[0].reason, /^level must be one of/);
      assert.equal((await t.http.get('/api/v1/logs').query({ level: '__proto__' })).status, 400);
    } finally {
      await t.close();
    }
  });

  it('normalise levels, read durations and word expressions without throwing, and give back what they accept', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (text) => {
        const level = normalizeLevel(text);
        assert.ok(level === undefined || ['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(level));
        const ms = parseDuration(text);
        assert.ok(ms === undefined || (Number.isSafeInteger(ms) && ms > 0));
        const expression = parseMatchExpression(text);
        assert.ok(typeof expression === 'string' || expression.terms.length > 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('give a user regex the answers of the backtracking engine, on either of its engines, or refuse it', () => {
    const atom = fc.constantFrom('a', 'b', 'x', '.', '[ab]', '[^a]', '\\d', '\\w', '\\s', '^', '$', '\\b');
    type Shapes = { node: string; group: string; sequence: string; alternation: string; repeated: string };
    const regex = fc.letrec<Shapes>((tie) => ({
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, atom, tie('group'), tie('sequence'), tie('alternation'), tie('repeated')),
      group: tie('node').map((inner) => `(${inner})`),
      sequence: fc.array(tie('node'), { minLength: 2, maxLength: 4 }).map((parts) => parts.join('')),
      alternation: fc.tuple(tie('node'), tie('node')).map(([a, b]) => `(?:${a}|${b})`),
      repeated: fc.tuple(tie('node'), fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '*?', '+?')).map(([inner, times]) => `(?:${inner})${times}`),
    })).node;
    fc.assert(
      fc.property(regex, fc.string({ unit: fc.constantFrom('a', 'b', 'x', '1', ' ', '\n', 'é'), maxLength: 12 }), (source, text) => {
        const compiled = compileUserRegex(source);
        if (typeof compiled === 'string') return;
        const backtracking = new RegExp(source).test(text);
        assert.equal(compiled.test(text), backtracking, `/${source}/ on ${JSON.stringify(text)}`);
        // What a user regex runs on once it has backtracked too often.
        // eslint-disable-next-line no-invalid-regexp -- compileUserRegex enabled the 'l' flag
        assert.equal(new RegExp(source, 'l').test(text), backtracking, `/${source}/l on ${JSON.stringify(text)}`);
      }),
      { numRuns: 2000 },
    );
  });

  it('read any value as a time or say why not, and any epoch integer by its number of digits', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.jsonValue(), fc.double(), fc.stringMatching(/^\d{1,22}(\.\d{1,12})?$/)), (value) => {
        const ms = readTimestamp(value);
        assert.ok(typeof ms === 'string' ? ms.length > 0 : Number.isSafeInteger(ms) && ms >= 0, JSON.stringify(value));
      }),
      { numRuns: 2000 },
    );
    // Up to 10 digits seconds, 13 milliseconds, 16 microseconds, 19 nanoseconds: to ms, cut.
    const toMs: [number, (epoch: bigint) => bigint][] = [[10, (e) => e * 1000n], [13, (e) => e], [16, (e) => e / 1000n], [19, (e) => e / 1_000_000n]];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 19 }).chain((n) => fc.bigInt({ min: n === 1 ? 0n : 10n ** BigInt(n - 1), max: 10n ** BigInt(n) - 1n })), (epoch) => {
        const digits = String(epoch);
        const [, convert] = toMs.find(([most]) => digits.length <= most)!;
        assert.equal(readTimestamp(digits), Number(convert(epoch)), digits);
      }),
      { numRuns: 2000 },
    );
  });

  it('read nginx error lines without throwing, whatever follows their header, and only text or numbers as fields', () => {
    const line = fc
      .tuple(fc.constantFrom('', '*7 '), fc.array(fc.oneof(fc.string(), fc.constantFrom(', client: ', ', server: ', ', request: "', ', host: ', '"', ', ')), { maxLength: 12 }))
      .map(([connection, parts]) => `2026/11/24 10:00:00 [error] 1#1: ${connection}${parts.join('')}`);
    fc.assert(
      fc.property(fc.oneof(line, fc.string()), (text) => {
        const header = messageHeader('nginx-error', text);
        const fields = lineFields('nginx-error', text, null);
        assert.equal(fields === null, header === undefined);
        for (const value of Object.values(fields ?? {})) assert.ok(typeof value === 'string' || Number.isFinite(value), text);
      }),
      { numRuns: 2000 },
    );
  });
});

/** How many objects and arrays a JSON value is made of, itself included. */
function objectsIn(value: unknown): number {
  if (typeof value !== 'object' || value === null) return 0;
  return 1 + Object.values(value).reduce((sum: number, inner) => sum + objectsIn(inner), 0);
}

describe('the counts taken before a body is parsed, for any body', () => {
  /** Strings full of what could be mistaken for structure. */
  const trickyJson = fc.jsonValue({ stringUnit: fc.constantFrom('{', '[', '}', ']', '"', '\\', 'a', 'é', '\n') });

  it('count the objects and arrays of any JSON text or NDJSON body, not the brackets in its strings', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.jsonValue(), trickyJson), { minLength: 1, maxLength: 4 }), fc.boolean(), (values, spaced) => {
        const text = values.map((value) => JSON.stringify(value, null, spaced ? 1 : undefined)).join('\n');
        const count = values.reduce((sum: number, value) => sum + objectsIn(value), 0);
        assert.equal(jsonObjectsAbove(text, count), false, text);
        if (count > 0) assert.equal(jsonObjectsAbove(text, count - 1), true, text);
      }),
      { numRuns: 2000 },
    );
  });

  it('count the lines of any text as its line numbers do, blank ones included', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '\n', '\r', ' ') }), (text) => {
        const pieces = text.split('\n');
        const lines = text.endsWith('\n') ? pieces.length - 1 : text.length === 0 ? 0 : pieces.length;
        assert.equal(linesAbove(text, lines), false);
        if (lines > 0) assert.equal(linesAbove(text, lines - 1), true);
      }),
      { numRuns: 2000 },
    );
  });

  it("count a protobuf push's entries, and its streams, entries and metadata pairs, as it decodes them", () => {
    const entry: fc.Arbitrary<PushEntry> = fc.record({
      ms: fc.constant(Date.UTC(2026, 10, 24)),
      line: fc.string(),
      metadata: fc.dictionary(fc.string({ minLength: 1 }), fc.string(), { maxKeys: 3 }),
    });
    const streams = fc.array(fc.record({ labels: fc.constant('{pod="p"}'), entries: fc.array(entry, { maxLength: 4 }) }), { maxLength: 4 });
    fc.assert(
      fc.property(streams, (pushed) => {
        const entries = pushed.reduce((sum, stream) => sum + stream.entries.length, 0);
        const objects = pushed.reduce((sum, stream) => sum + 1 + stream.entries.reduce((n, e) => n + 1 + Object.keys(e.metadata ?? {}).length, 0), 0);
        const body = protobufPush(pushed);
        const exact = { maxBytes: 1024 ** 2, maxEntries: entries, maxObjects: objects };
        const decoded = decodeProtobufPush(body, exact);
        assert.ok(Array.isArray(decoded), JSON.stringify(decoded));
        assert.equal(decoded.reduce((sum, stream) => sum + stream.entries.length, 0), entries);
        if (entries > 0) assert.deepEqual(decodeProtobufPush(body, { ...exact, maxEntries: entries - 1 }), new PushTooLarge('maxEntries'));
        if (objects > 0) assert.deepEqual(decodeProtobufPush(body, { ...exact, maxEntries: objects, maxObjects: objects - 1 }), new PushTooLarge('maxObjects'));
      }),
      { numRuns: 500 },
    );
  });
});
