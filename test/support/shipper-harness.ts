import assert from 'node:assert/strict';
import { once } from 'node:events';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { IncomingHttpHeaders, createServer, request as httpRequest } from 'node:http';
import { AddressInfo, createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShipperConfig, loadShipperConfig } from '@daylog/config/shipper';
import { AggregatorClient, CheckpointStore, DeliveryHealth, RetryPolicy, Shipper, ShipperMetrics } from '@daylog/shipper';
import { TestApp, TestAgent, WireLineBody, startTestApp } from './test-app';

export const systemClock = { now: () => Date.now() };

/** A real aggregator on a real port, and a folder of log files for shippers to follow. */
export interface ShipperRig {
  aggregator: TestApp;
  url: string;
  logDir: string;
  close(): Promise<void>;
}

export async function startRig(env: Record<string, string> = {}, clock: { now(): number } = systemClock): Promise<ShipperRig> {
  const aggregator = await startTestApp({ clock, env });
  await aggregator.app.listen({ port: 0, host: '127.0.0.1' });
  const url = (await aggregator.app.getUrl()).replace('[::1]', '127.0.0.1');
  const logDir = mkdtempSync(join(tmpdir(), 'daylog-logs-'));
  mkdirSync(logDir, { recursive: true });
  return {
    aggregator,
    url,
    logDir,
    close: async () => {
      await aggregator.close();
      rmSync(logDir, { recursive: true, force: true });
      rmSync(stateDirOf(logDir), { recursive: true, force: true });
    },
  };
}

/** The shipper's state beside a folder of logs, never inside it. */
export const stateDirOf = (logDir: string): string => `${logDir}.state`;

/** A folder of its own for one test's pod, under the rig's log folder, and the shipper settings that follow it. */
export function podDir(rig: ShipperRig, pod: string, env: Record<string, string> = {}): { dir: string; env: Record<string, string> } {
  const dir = join(rig.logDir, pod);
  mkdirSync(dir);
  return { dir, env: shipperEnv({ url: rig.url, logDir: dir }, pod, env) };
}

export function shipperEnv(rig: { url: string; logDir: string }, pod: string, env: Record<string, string> = {}): Record<string, string> {
  return {
    DAYLOG_URL: rig.url,
    DAYLOG_FILES: join(rig.logDir, '*.log'),
    DAYLOG_STATE_DIR: stateDirOf(rig.logDir),
    POD_NAME: pod,
    POD_NAMESPACE: 'shop',
    CONTAINER_NAME: 'nginx',
    DAYLOG_BATCH_WAIT: '100ms',
    DAYLOG_POLL_INTERVAL: '50ms',
    ...env,
  };
}

export interface RunningShipper {
  shipper: Shipper;
  metrics: ShipperMetrics;
  health: DeliveryHealth;
  config: ShipperConfig;
  done: Promise<void>;
  /** Stops it, giving pending lines `graceMs` (the shipper's default: 5 s) to be delivered. */
  stop(graceMs?: number): Promise<void>;
}

export function runShipper(env: Record<string, string>, retry?: RetryPolicy, clock: { now(): number } = systemClock): RunningShipper {
  const config = loadShipperConfig(env);
  const metrics = new ShipperMetrics();
  const health = new DeliveryHealth(metrics);
  const shipper = new Shipper(config, new AggregatorClient(config, metrics, health, retry), new CheckpointStore(config.stateDir, clock), metrics, clock);
  const done = shipper.run();
  return { shipper, metrics, health, config, done, stop: (graceMs?: number) => shipper.stop(graceMs) };
}

/**
 * How long a test waits for something that should happen: generous, so that a loaded machine slows
 * a test down without failing it.
 */
export const PATIENCE_MS = 60_000;

/** Waits until `condition` holds, failing with `what` after `timeoutMs` rather than spinning forever. */
export async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = PATIENCE_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Appends numbered lines `<prefix> 000001 …` and returns their messages. */
export function writeLines(file: string, prefix: string, from: number, count: number, pad = ''): string[] {
  const lines = Array.from({ length: count }, (_, i) => `${prefix} ${String(from + i).padStart(6, '0')}${pad}`);
  if (lines.length > 0) appendFileSync(file, `${lines.join('\n')}\n`);
  return lines;
}

/** Every stored message of a pod, oldest first, following cursors. */
export async function storedMessages(http: TestAgent, pod: string): Promise<string[]> {
  const messages: string[] = [];
  let cursor: string | null = null;
  do {
    const query: Record<string, string> = { pod, direction: 'forward', limit: '5000', format: 'json' };
    if (cursor) query.cursor = cursor;
    const response = await http.get('/api/v1/logs').query(query);
    assert.equal(response.status, 200, response.text);
    const body = response.body as { lines: WireLineBody[]; nextCursor: string | null };
    messages.push(...body.lines.map((line) => line.message));
    cursor = body.nextCursor;
  } while (cursor);
  return messages;
}

/** Waits until the pod has `count` lines stored (or the time is up), then returns them. */
export async function waitForLines(http: TestAgent, pod: string, count: number, timeoutMs = PATIENCE_MS): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  let messages = await storedMessages(http, pod);
  while (messages.length < count && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    messages = await storedMessages(http, pod);
  }
  return messages;
}

/** Each written line stored exactly once: the same multiset of messages (files interleave, and two lines may be equal). */
export function assertExactlyOnce(stored: string[], written: string[]): void {
  const counts = new Map<string, number>();
  for (const message of written) counts.set(message, (counts.get(message) ?? 0) + 1);
  for (const message of stored) counts.set(message, (counts.get(message) ?? 0) - 1);
  const duplicated = [...counts].filter(([, n]) => n < 0).map(([m]) => m);
  const missing = [...counts].filter(([, n]) => n > 0).map(([m]) => m);
  assert.deepEqual({ duplicated: duplicated.slice(0, 5), missing: missing.slice(0, 5) }, { duplicated: [], missing: [] });
  assert.equal(stored.length, written.length);
}

export interface CannedAnswer {
  status: number;
  headers?: Record<string, string>;
  body: string;
}

/** What the proxy does with a request: answer for the aggregator, hang up without answering, or forward it (null). */
export type ProxyAction = CannedAnswer | 'hang-up' | null;

/**
 * An HTTP proxy in front of the aggregator that can answer for it: `answer` returns a canned reply,
 * 'hang-up', or null to forward the request. With `pathPrefix` it is a gateway that routes only that
 * prefix to the aggregator, removing it (404 elsewhere). Returns the proxy's URL, the paths it was
 * asked for, and a close function.
 */
export async function startProxy(
  target: string,
  answer: (headers: IncomingHttpHeaders) => ProxyAction,
  { pathPrefix = '' }: { pathPrefix?: string } = {},
): Promise<{ url: string; paths: string[]; close(): void }> {
  const upstreamUrl = new URL(target);
  const paths: string[] = [];
  const proxy = createServer((incoming, outgoing) => {
    const path = incoming.url ?? '/';
    paths.push(path);
    const routed = path.startsWith(`${pathPrefix}/`);
    const action = routed ? answer(incoming.headers) : { status: 404, body: '{"error":"no route here"}' };
    if (action === 'hang-up') {
      incoming.socket.destroy();
      return;
    }
    if (action) {
      incoming.resume();
      outgoing.writeHead(action.status, { 'Content-Type': 'application/json', ...action.headers }).end(action.body);
      return;
    }
    const upstream = httpRequest(
      { host: upstreamUrl.hostname, port: upstreamUrl.port, path: path.slice(pathPrefix.length), method: incoming.method, headers: incoming.headers },
      (reply) => {
        outgoing.writeHead(reply.statusCode!, reply.headers);
        reply.pipe(outgoing);
      },
    );
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, paths, close: () => proxy.close() };
}

/** A port nothing listened on a moment ago. */
export async function freePort(): Promise<number> {
  const server = createNetServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The shipper's saved offsets, file by file: what it would resume from. */
export function savedOffsets(stateDir: string): number[] {
  const state = JSON.parse(readFileSync(join(stateDir, 'checkpoints.json'), 'utf8')) as { files: Record<string, { offset: number }> };
  return Object.values(state.files).map((file) => file.offset);
}
