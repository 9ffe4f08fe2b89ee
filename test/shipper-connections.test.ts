import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadShipperConfig } from '@daylog/config/shipper';
import { AggregatorClient, CheckpointStore, ConnectionLanes, DeliveryHealth, NodeAgent, ShipperMetrics } from '@daylog/shipper';
import { ShipperRig, assertExactlyOnce, startRig, stateDirOf, storedMessages, until } from './support/shipper-harness';

/** How long the proxy holds a request that no other has joined: then it goes on alone. */
const HOLD_MS = 500;

interface Arrival {
  key: string;
  /** The keys of the requests open when it arrived. */
  alongside: string[];
}

/**
 * A proxy in front of the aggregator that holds each request until another is open too (or HOLD_MS
 * has passed), so that requests a sender has on their way at once are seen at once, whatever the
 * aggregator's speed. It notes what was open as each arrived.
 */
async function startHoldingProxy(target: string): Promise<{ url: string; arrivals: Arrival[]; close(): void }> {
  const upstream = new URL(target);
  const open = new Set<string>();
  const arrivals: Arrival[] = [];
  let held: (() => void)[] = [];
  const proxy = createServer((incoming, outgoing) => {
    const key = String(incoming.headers['idempotency-key']);
    arrivals.push({ key, alongside: [...open] });
    open.add(key);
    outgoing.on('finish', () => open.delete(key));
    const forward = () => {
      const request = httpRequest({ host: upstream.hostname, port: upstream.port, path: incoming.url, method: incoming.method, headers: incoming.headers }, (reply) => {
        outgoing.writeHead(reply.statusCode!, reply.headers);
        reply.pipe(outgoing);
      });
      incoming.pipe(request);
    };
    if (open.size > 1) {
      for (const release of held) release();
      held = [];
      forward();
      return;
    }
    const timer = setTimeout(() => {
      held = held.filter((release) => release !== go);
      forward();
    }, HOLD_MS);
    const go = () => {
      clearTimeout(timer);
      forward();
    };
    held.push(go);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, arrivals, close: () => proxy.close() };
}

/** `<identity>:<start>-<end>`. */
function parseKey(key: string): { file: string; start: number } {
  const match = /^(.+):(\d+)-\d+$/.exec(key);
  assert.ok(match, key);
  return { file: match[1], start: Number(match[2]) };
}

describe('connections to the aggregator', () => {
  let rig: ShipperRig;
  before(async () => {
    rig = await startRig();
  });
  after(() => rig.close());

  it('has batches of different files on their way at once, and each file\'s own batches one after another, in order', async () => {
    const proxy = await startHoldingProxy(rig.url);
    const podsDir = join(rig.logDir, 'connections', 'pods');
    const written: string[] = [];
    const time = new Date(Date.now() - 60_000).toISOString();
    for (let pod = 0; pod < 3; pod++) {
      const dir = join(podsDir, `shop_web-${pod}_3f5c2a4e-8b1d-4c6f-9e2a-${String(pod).padStart(12, '0')}`, 'nginx');
      mkdirSync(dir, { recursive: true });
      const messages = Array.from({ length: 30 }, (_, i) => `web-${pod} line ${i}`);
      written.push(...messages);
      writeFileSync(join(dir, '0.log'), messages.map((message) => `${time} stdout F ${message}\n`).join(''));
    }
    const config = loadShipperConfig({
      DAYLOG_URL: proxy.url,
      DAYLOG_PODS_DIR: podsDir,
      DAYLOG_STATE_DIR: stateDirOf(join(rig.logDir, 'connections')),
      DAYLOG_BATCH_LINES: '10',
      DAYLOG_POLL_INTERVAL: '50ms',
    });
    const metrics = new ShipperMetrics();
    const agent = new NodeAgent(config, new AggregatorClient(config, metrics, new DeliveryHealth(metrics)), new CheckpointStore(config.stateDir), metrics);
    const running = agent.run();
    try {
      await until('every line shipped', () => metrics.linesShipped === written.length);
      const stored = (await Promise.all([0, 1, 2].map((pod) => storedMessages(rig.aggregator.http, `web-${pod}`)))).flat();
      assertExactlyOnce(stored, written);
      assert.equal(proxy.arrivals.length, 9);
      assert.ok(
        proxy.arrivals.some(({ alongside }) => alongside.length > 0),
        'no request arrived while another was open: one file\'s batch waited for another\'s answer',
      );
      const lastStart = new Map<string, number>();
      for (const { key, alongside } of proxy.arrivals) {
        const { file, start } = parseKey(key);
        assert.deepEqual(alongside.filter((other) => parseKey(other).file === file), [], `${key} arrived while a batch of its file was open`);
        assert.ok(start > (lastStart.get(file) ?? -1), `${key} arrived after a later batch of its file`);
        lastStart.set(file, start);
      }
    } finally {
      await agent.stop();
      await running;
      proxy.close();
    }
  });
});

describe('connection lanes', () => {
  it('gives a file\'s batches the connection its first took, and another file the least busy one until its batches are answered', () => {
    const lanes = new ConnectionLanes(2);
    try {
      const a = lanes.take('a');
      assert.equal(lanes.take('a'), a);
      const b = lanes.take('b');
      assert.notEqual(b, a);
      assert.equal(lanes.take('c'), b);
      lanes.release('a');
      lanes.release('a');
      assert.equal(lanes.take('d'), a);
      lanes.release('b');
      lanes.release('c');
      assert.equal(lanes.take('c'), b);
    } finally {
      lanes.destroy();
    }
  });
});
