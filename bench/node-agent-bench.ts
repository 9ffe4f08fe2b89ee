import http from 'node:http';
import { join } from 'node:path';
import { FakeNode } from '../test/support/kubelet-node';
import { AggregatorProcess } from './aggregator-process';
import { makeTempDir, median, removeTempDir } from './bench-support';
import { accessLine, levelAndStatus, seededRandom } from './dataset';
import { send } from './http-client';
import { AddFigure, formatInt, say } from './report';
import { ShipperProcess } from './shipper-process';

/** The issue's node: 200 containers' logs written at once, as containerd writes them. */
export const NODE_CONTAINERS = 200;
const NAMESPACE = 'bench';
const CONTAINERS_PER_POD = 2;
const QUERY_PAGE_LINES = 5000;
/** The node agent's goals are the sidecar's. */
const RATE_GOAL = 50_000;
const RSS_GOAL_MB = 80;

export interface NodeAgentOutcome {
  lines: number;
  containers: number;
  fileBytes: number;
  /** Spawn to every line counted by daylog_shipper_lines_shipped_total. */
  ms: number;
  linesPerSec: number;
  peakRssBytes: number;
}

/**
 * `lines` nginx combined lines on stdout, each with a `&seq=<i>` to match the stored lines one for one, dealt
 * round the containers of a fake containerd node (test/support/kubelet-node.ts), before the agent starts.
 */
function writeNode(root: string, lines: number): { node: FakeNode; bytes: number } {
  const node = new FakeNode(root, 'containerd');
  const containers = Array.from({ length: NODE_CONTAINERS }, (_, i) => {
    const pod = Math.floor(i / CONTAINERS_PER_POD);
    const uid = `00000000-0000-4000-8000-${String(pod).padStart(12, '0')}`;
    return node.start({ namespace: NAMESPACE, pod: `web-${pod}`, uid, container: `c${i % CONTAINERS_PER_POD}` });
  });
  const random = seededRandom(0x0de);
  const ts = Date.now();
  let bytes = 0;
  for (let i = 0; i < lines; i++) {
    const [, status] = levelAndStatus(random);
    const records = containers[i % containers.length].records('stdout', accessLine(random, ts, status, false, i), ts);
    containers[i % containers.length].writeRaw(records);
    for (const record of records) bytes += record.length;
  }
  node.stopAll();
  return { node, bytes };
}

/** Every stored line of the namespace, each written line there once; fails otherwise. */
async function verifyStored(port: number, written: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen = new Uint8Array(written);
  let stored = 0;
  try {
    for (let cursor: string | null = null; ; ) {
      const params = new URLSearchParams({ namespace: NAMESPACE, limit: String(QUERY_PAGE_LINES), format: 'json' });
      if (cursor !== null) params.set('cursor', cursor);
      const answer = await send(agent, port, 'GET', `/api/v1/logs?${params.toString()}`);
      if (answer.status !== 200) throw new Error(`GET /api/v1/logs answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      const page = JSON.parse(answer.body) as { lines: { message: string; source: string | null }[]; nextCursor: string | null };
      for (const line of page.lines) {
        stored++;
        const seq = Number(/[?&]seq=(\d+)[ &"]/.exec(line.message)?.[1] ?? -1);
        if (seq < 0 || seq >= written || line.source !== 'stdout' || seen[seq]++ > 0) {
          throw new Error(`node agent: an unexpected or repeated line: ${JSON.stringify(line).slice(0, 300)}`);
        }
      }
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
  } finally {
    agent.destroy();
  }
  if (stored !== written) throw new Error(`node agent: the aggregator holds ${stored} lines of ${written} written`);
}

/**
 * One node agent measurement: a fresh aggregator child; a fake node whose 200 containers' logs hold `lines`
 * lines; the built shipper spawned in node mode on it, timed from spawn until /metrics counts every line
 * shipped; peak RSS read before SIGTERM; the stored lines then checked one for one.
 */
export async function nodeAgentRun(lines: number): Promise<NodeAgentOutcome> {
  const dataDir = makeTempDir('node-agent-data');
  const nodeDir = makeTempDir('node-agent-node');
  let aggregator: AggregatorProcess | null = null;
  let shipper: ShipperProcess | null = null;
  try {
    aggregator = await AggregatorProcess.start(dataDir);
    const { node, bytes } = writeNode(nodeDir, lines);
    shipper = await ShipperProcess.start({ aggregatorPort: aggregator.port, podsDir: node.podsDir, stateDir: join(nodeDir, 'state') });
    const shipped = await shipper.waitShipped(lines, Math.max(60_000, lines));
    const peakRssBytes = shipper.peakRssBytes();
    await shipper.stop();
    shipper = null;
    await verifyStored(aggregator.port, lines);
    await aggregator.stop();
    aggregator = null;
    return { lines, containers: NODE_CONTAINERS, fileBytes: bytes, ms: shipped.ms, linesPerSec: lines / (shipped.ms / 1000), peakRssBytes };
  } finally {
    shipper?.kill();
    aggregator?.kill();
    removeTempDir(nodeDir);
    removeTempDir(dataDir);
  }
}

export function reportNodeAgent(outcomes: NodeAgentOutcome[], figure: AddFigure): void {
  const rates = outcomes.map((o) => o.linesPerSec);
  const rate = median(rates);
  const rss = median(outcomes.map((o) => o.peakRssBytes / 1e6));
  say(
    `shipper.node.lines_per_sec ${formatInt(rate).padStart(9)} lines/s (${formatInt(outcomes[0].lines)} lines in ${outcomes[0].containers} ` +
      `containers' CRI logs, spawn to all shipped)   runs ${rates.map(formatInt).join(', ')}   goal ≥ ${formatInt(RATE_GOAL)} lines/s: ` +
      `${rate >= RATE_GOAL ? 'met' : 'NOT met'}`,
  );
  say(`shipper.node.rss_mb ${rss.toFixed(1)} MB peak RSS (VmHWM)   goal < ${RSS_GOAL_MB} MB: ${rss < RSS_GOAL_MB ? 'met' : 'NOT met'}`);
  figure('shipper.node.lines_per_sec', rate, 'lines/s', undefined, 0);
  figure('shipper.node.rss_mb', rss, 'MB', undefined, 1);
}
