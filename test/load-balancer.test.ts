import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { IncomingMessage, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseDuration } from '@daylog/log-model';
import { AggregatorProcess, exitWithin, runAggregator } from './support/aggregator-process';
import { REPO } from './support/image-command';
import { NginxRun, nginxBlock, nginxDirectives, prepareNginx } from './support/nginx-run';

const CONFIG = join(REPO, 'deploy/nginx/load-balancer.conf');
/** The upstream servers as compose names them; the test puts the replicas it runs in their place. */
const REPLICA_ADDRESSES = ['aggregator-1:8080', 'aggregator-2:8080'];
const WRITER = 'ingest-token-0123456789';
const AS_WRITER = { Authorization: `Bearer ${WRITER}` };

interface Replica {
  run: AggregatorProcess;
  url: string;
  dataDir: string;
}

async function startReplica(): Promise<Replica> {
  const dataDir = mkdtempSync(join(tmpdir(), 'daylog-replica-'));
  // One tail each, so that tails through the balancer meet a replica's 429 after two.
  // An ingest token, so that a wrong one is refused before the body is read.
  const run = runAggregator({
    DAYLOG_DATA_DIR: dataDir,
    DAYLOG_PORT: '0',
    DAYLOG_HOST: '127.0.0.1',
    DAYLOG_MAX_TAILS: '1',
    DAYLOG_INGEST_TOKENS: WRITER,
    DAYLOG_SHUTDOWN_GRACE: '1s',
  });
  return { run, url: await run.listening(), dataDir };
}

async function stopReplica(replica: Replica): Promise<void> {
  replica.run.child.kill('SIGTERM');
  assert.deepEqual(await exitWithin(replica.run, 15_000), [0, null]);
}

function post(url: string, pod: string, messages: string[]): Promise<Response> {
  return fetch(`${url}/api/v1/logs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...AS_WRITER },
    body: JSON.stringify({ labels: { pod }, lines: messages.map((message) => ({ message })) }),
  });
}

async function storedMessages(url: string, pod: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/api/v1/logs?pod=${pod}&format=json&direction=forward`)).json()) as { lines: { message: string }[] };
  return body.lines.map((line) => line.message);
}

/** Reads a streamed body until `text` has come, failing past the deadline. */
async function readUntil(response: Response, text: string, timeoutMs = 15_000): Promise<void> {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let received = '';
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`"${text}" did not come within ${timeoutMs} ms; came: ${JSON.stringify(received)}`)), timeoutMs);
  });
  try {
    while (!received.includes(text)) {
      const { value, done } = await Promise.race([reader.read(), late]);
      if (done) assert.fail(`the stream ended before "${text}"; came: ${JSON.stringify(received)}`);
      received += decoder.decode(value, { stream: true });
    }
  } finally {
    clearTimeout(timer);
    await reader.cancel();
  }
}

describe('the load balancer config compose puts in front of the replicas', () => {
  const config = readFileSync(CONFIG, 'utf8');

  it('sends live tails on as they come, and keeps a quiet one open for an hour', () => {
    const tail = nginxBlock(config, 'location /api/v1/tail');
    assert.deepEqual(nginxDirectives(tail, 'proxy_buffering'), [['off']]);
    const [[timeout]] = nginxDirectives(tail, 'proxy_read_timeout');
    assert.ok(parseDuration(timeout)! >= parseDuration('1h')!, timeout);
  });
});

describe('the load balancer, run by nginx in front of two aggregators', () => {
  let replicas: Replica[];
  let nginx: NginxRun;
  let balancer: string;

  before(async () => {
    replicas = await Promise.all([startReplica(), startReplica()]);
    nginx = await prepareNginx(CONFIG, (text, _dir, port) => {
      let placed = text.replace('listen 8080;', `listen 127.0.0.1:${port};`);
      for (const [i, address] of REPLICA_ADDRESSES.entries()) {
        assert.ok(placed.includes(`server ${address};`), `the upstream has no server ${address}`);
        placed = placed.replace(`server ${address};`, `server ${new URL(replicas[i].url).host};`);
      }
      return placed;
    });
    balancer = `http://127.0.0.1:${nginx.port}`;
  });

  after(async () => {
    await nginx?.close();
    for (const replica of replicas ?? []) {
      replica.run.child.kill('SIGKILL');
      rmSync(replica.dataDir, { recursive: true, force: true });
    }
  });

  it("passes Debian nginx's nginx -t", () => {
    nginx.check();
  });

  it('spreads batches over both replicas', async () => {
    await nginx.start();
    for (const message of ['one', 'two', 'three', 'four']) assert.equal((await post(balancer, 'spread', [message])).status, 200);
    const [first, second] = await Promise.all(replicas.map((replica) => storedMessages(replica.url, 'spread')));
    assert.ok(first.length > 0 && second.length > 0, `one replica took every batch: ${JSON.stringify([first, second])}`);
    assert.deepEqual([...first, ...second].sort(), ['four', 'one', 'three', 'two']);
  });

  it("takes a batch larger than nginx's default body limit (1 MiB), the aggregator's limit being the one that counts", async () => {
    const lines = Array.from({ length: 20_000 }, (_, i) => `GET /items/${i} HTTP/1.1 200 ${'x'.repeat(80)}`).join('\n');
    assert.ok(Buffer.byteLength(lines) > 2 * 1024 ** 2);
    const response = await fetch(`${balancer}/api/v1/logs?pod=big`, { method: 'POST', headers: { 'Content-Type': 'text/plain', ...AS_WRITER }, body: lines });
    assert.equal(response.status, 200, await response.clone().text());
    assert.equal(((await response.json()) as { accepted: number }).accepted, 20_000);
  });

  it('passes a body on as it comes: a wrong token is refused before the body has all been sent', async () => {
    const upload = request(`${balancer}/api/v1/logs`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'Content-Length': 1_000_000, Authorization: 'Bearer not-a-token-of-ours' },
    });
    upload.on('error', () => undefined);
    upload.write('['.padEnd(100_000, ' '));
    try {
      const [response] = (await once(upload, 'response', { signal: AbortSignal.timeout(10_000) })) as [IncomingMessage];
      response.resume();
      assert.equal(response.statusCode, 401);
    } finally {
      upload.destroy();
    }
  });

  it('links the next page at the address the client asked, not at the upstream', async () => {
    for (const replica of replicas) assert.equal((await post(replica.url, 'pages', ['older', 'newer'])).status, 200);
    const response = await fetch(`${balancer}/api/v1/logs?pod=pages&limit=1`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('link') ?? '', new RegExp(`^<${balancer}/api/v1/logs\\?`));
  });

  it('streams a live tail through, each line as it comes', async () => {
    const tail = await fetch(`${balancer}/api/v1/tail?pod=live`);
    assert.equal(tail.status, 200);
    // The tail is on one replica or the other: the line goes to both.
    for (const replica of replicas) assert.equal((await post(replica.url, 'live', ['a line while the tail waits'])).status, 200);
    await readUntil(tail, 'a line while the tail waits');
  });

  it("passes a replica's 429 on with its Retry-After", async () => {
    const answers: Response[] = [];
    // One tail a replica: of three, one at least meets a replica whose tail is taken.
    for (let i = 0; i < 3 && !answers.some((answer) => answer.status === 429); i++) answers.push(await fetch(`${balancer}/api/v1/tail?pod=crowd`));
    const refused = answers.find((answer) => answer.status === 429);
    for (const answer of answers) await answer.body?.cancel();
    assert.ok(refused, `statuses ${answers.map((answer) => answer.status).join(', ')}`);
    assert.equal(refused.headers.get('retry-after'), '10');
  });

  it('sends every batch to the other replica while one is stopped', async () => {
    await stopReplica(replicas[1]);
    for (const message of ['one', 'two', 'three', 'four']) assert.equal((await post(balancer, 'failover', [message])).status, 200);
    assert.deepEqual(await storedMessages(replicas[0].url, 'failover'), ['one', 'two', 'three', 'four']);
  });

  it('answers 503 with Retry-After and a JSON reason when no replica answers', async () => {
    await stopReplica(replicas[0]);
    for (const response of [await fetch(`${balancer}/api/v1/logs?pod=any`), await post(balancer, 'any', ['lost?'])]) {
      assert.equal(response.status, 503);
      assert.equal(response.headers.get('retry-after'), '5');
      assert.match(((await response.json()) as { error: string }).error, /no Daylog replica answers/);
    }
  });
});
