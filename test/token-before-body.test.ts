import assert from 'node:assert/strict';
import { once } from 'node:events';
import { Agent, ClientRequest, IncomingMessage, OutgoingHttpHeaders, request as httpRequest } from 'node:http';
import { Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { bombs } from './support/bombs';
import { ManualClock, TestApp, WireLineBody, startTestApp } from './support/test-app';

const WRITER = 'ingest-token-0123456789';
const READER = 'read-token-0123456789abc';
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Sends the bytes as given: superagent would otherwise serialise a Buffer as a JSON object. */
const asGiven = (data: unknown) => data as string;

/** Longer than any answer here takes; an answer that waits for a body never sent never comes. */
const ANSWER_DEADLINE_MS = 10_000;

interface Refusal {
  sender: string;
  headers: Record<string, string>;
  status: number;
  body: { error: string };
  challenge: string | undefined;
}

/** What an ingest route answers to a token that may not send lines, whatever the body (docs/API.md, Tokens). */
const REFUSALS: Refusal[] = [
  {
    sender: 'no token',
    headers: {},
    status: 401,
    body: { error: 'this needs a ingest token: send Authorization: Bearer <token>' },
    challenge: 'Bearer',
  },
  {
    sender: 'a token the server does not know',
    headers: bearer('not-a-token-of-ours-at-all'),
    status: 401,
    body: { error: "the token is not one of this server's ingest tokens" },
    challenge: 'Bearer error="invalid_token"',
  },
  { sender: 'a read token', headers: bearer(READER), status: 403, body: { error: 'this token may only read; this needs a ingest token' }, challenge: undefined },
];

interface RawAnswer {
  response: IncomingMessage;
  text: string;
}

/** The answer to `request`, read whole; fails past the deadline rather than waiting for a body that is not coming. */
async function answerOf(request: ClientRequest): Promise<RawAnswer> {
  const [response] = (await once(request, 'response', { signal: AbortSignal.timeout(ANSWER_DEADLINE_MS) }).catch((error: Error) => {
    if (error.name !== 'AbortError') throw error;
    throw new Error(`no answer within ${ANSWER_DEADLINE_MS} ms: the server is waiting for the rest of the body`);
  })) as [IncomingMessage];
  let text = '';
  response.setEncoding('utf8');
  for await (const chunk of response) text += chunk as string;
  return { response, text };
}

async function socketOf(request: ClientRequest): Promise<Socket> {
  return request.socket ?? ((await once(request, 'socket')) as [Socket])[0];
}

/** A POST whose body the test writes itself, piece by piece, with node:http (supertest sends a body whole). */
function post(base: string, path: string, headers: OutgoingHttpHeaders, agent?: Agent): ClientRequest {
  const request = httpRequest(new URL(path, base), { method: 'POST', headers, agent });
  // The server may close the connection while the test still writes: the test looks at the socket instead.
  request.on('error', () => undefined);
  return request;
}

describe('an ingest route checks the token before it reads the body', () => {
  let t: TestApp;
  let base: string;

  before(async () => {
    t = await startTestApp({ clock: new ManualClock(Date.now()), env: { DAYLOG_INGEST_TOKENS: WRITER, DAYLOG_READ_TOKENS: READER } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = await t.app.getUrl();
  });
  after(() => t.close());

  async function messagesOf(pod: string): Promise<string[]> {
    const response = await t.http.get('/api/v1/logs').set(bearer(READER)).query({ format: 'json', pod });
    return (response.body.lines as WireLineBody[]).map((line) => line.message);
  }

  for (const refusal of REFUSALS) {
    it(`answers ${refusal.status} to a gzip bomb sent with ${refusal.sender}, not the 413 of inflating it`, async () => {
      for (const bomb of bombs()) {
        const response = await t.http
          .post(bomb.path)
          .set(refusal.headers)
          .set('Content-Type', bomb.contentType)
          .set('Content-Encoding', 'gzip')
          .serialize(asGiven)
          .send(bomb.body);
        assert.equal(response.status, refusal.status, `${bomb.name}: ${response.text.slice(0, 200)}`);
        assert.deepEqual(response.body, refusal.body, bomb.name);
        assert.equal(response.headers['www-authenticate'], refusal.challenge, bomb.name);
      }
    });

    it(`answers ${refusal.status} to a body that does not parse, or of a type not taken, sent with ${refusal.sender}`, async () => {
      for (const path of ['/api/v1/logs', '/loki/api/v1/push']) {
        for (const [type, body] of [['application/json', '{"lines": [{"message": "no end'], ['image/png', 'PNG']]) {
          const response = await t.http.post(path).set(refusal.headers).set('Content-Type', type).serialize(asGiven).send(body);
          assert.equal(response.status, refusal.status, `${path} ${type}: ${response.text}`);
          assert.deepEqual(response.body, refusal.body, 'the answer says nothing of the body');
        }
      }
    });
  }

  it('answers before the body has arrived, then takes the next request on the same keep-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const [bomb] = bombs();
      const refused = post(base, bomb.path, { 'Content-Type': bomb.contentType, 'Content-Encoding': 'gzip', 'Content-Length': bomb.body.length }, agent);
      const half = Math.floor(bomb.body.length / 2);
      refused.write(bomb.body.subarray(0, half));
      const connection = await socketOf(refused);
      const answer = await answerOf(refused);
      assert.equal(answer.response.statusCode, 401, 'answered while half the body is still to come: nothing of it was inflated');
      assert.deepEqual(JSON.parse(answer.text), REFUSALS[0].body);
      const freed = once(agent, 'free');
      refused.end(bomb.body.subarray(half));
      await freed;

      const lines = JSON.stringify([{ pod: 'after-refusal', message: 'sent on the same connection' }]);
      const next = post(base, '/api/v1/logs', { ...bearer(WRITER), 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(lines) }, agent);
      next.end(lines);
      assert.equal(await socketOf(next), connection, 'the connection was kept');
      const stored = await answerOf(next);
      assert.equal(stored.response.statusCode, 200, stored.text);
      assert.deepEqual(JSON.parse(stored.text), { accepted: 1, rejected: [], duplicate: false });
      assert.deepEqual(await messagesOf('after-refusal'), ['sent on the same connection']);
    } finally {
      agent.destroy();
    }
  });

  it('closes the connection of a refused request whose body is larger than DAYLOG_MAX_BODY_BYTES, read or not', async () => {
    const declared = post(base, '/api/v1/logs', { 'Content-Type': 'text/plain', 'Content-Length': 1024 ** 3 });
    declared.write('a line\n');
    const socket = await socketOf(declared);
    const answer = await answerOf(declared);
    assert.equal(answer.response.statusCode, 401);
    assert.equal(answer.response.headers.connection, 'close');
    if (!socket.destroyed) await once(socket, 'close', { signal: AbortSignal.timeout(ANSWER_DEADLINE_MS) });

    const chunked = post(base, '/api/v1/logs', { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    const piece = Buffer.alloc(1024 * 1024, 'a line\n');
    chunked.write(piece);
    const chunkedSocket = await socketOf(chunked);
    assert.equal((await answerOf(chunked)).response.statusCode, 401);
    let written = piece.length;
    while (!chunkedSocket.destroyed && written <= 4 * t.config.maxBodyBytes) {
      await new Promise((resolve) => chunked.write(piece, resolve));
      written += piece.length;
    }
    assert.ok(chunkedSocket.destroyed, `the server still read after ${written} bytes of a body it had refused`);
  });

  it('reads the body of a request whose token may send lines, as before', async () => {
    const [bomb] = bombs();
    const inflated = await t.http
      .post(bomb.path)
      .set(bearer(WRITER))
      .set('Content-Type', bomb.contentType)
      .set('Content-Encoding', 'gzip')
      .serialize(asGiven)
      .send(bomb.body);
    assert.equal(inflated.status, 413);
    assert.match(inflated.body.error, bomb.error);
    const invalid = await t.http.post('/api/v1/logs').set(bearer(WRITER)).set('Content-Type', 'application/json').serialize(asGiven).send('{"lines": [');
    assert.equal(invalid.status, 400);
    assert.match(invalid.body.error, /^the body is not valid JSON: /);
    const push = await t.http
      .post('/loki/api/v1/push')
      .set(bearer(WRITER))
      .send({ streams: [{ stream: { pod: 'pushed' }, values: [[`${Date.now()}000000`, 'a pushed line']] }] });
    assert.equal(push.status, 204, push.text);
    assert.deepEqual(await messagesOf('pushed'), ['a pushed line']);
  });
});
