import { closeSync, openSync, writeSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { AggregatorProcess } from './aggregator-process';
import { makeTempDir, removeTempDir } from './bench-support';
import { accessLine, levelAndStatus, seededRandom } from './dataset';
import { send } from './http-client';
import { ShipperProcess } from './shipper-process';

const NAMESPACE = 'shop';
const CONTAINER = 'nginx';
const LOG_FILE = 'access.log';
const WRITE_CHUNK_LINES = 10_000;
const QUERY_PAGE_LINES = 5000;
/** The wait for every line to be shipped: at least a minute, and never less than 1,000 lines/s would need. */
const shippedTimeoutMs = (lines: number) => Math.max(60_000, lines);

export interface ShipperOutcome {
  lines: number;
  fileBytes: number;
  /** Spawn to every line counted by daylog_shipper_lines_shipped_total. */
  ms: number;
  linesPerSec: number;
  firstMetricsMs: number;
  peakRssBytes: number;
  shipperCpuSeconds: number | null;
  aggregatorCpuSeconds: number | null;
  queryPages: number;
}

/**
 * `lines` nginx combined lines stamped now, each with a `&seq=<i>` in its request path so the stored
 * lines can be matched one for one; written in chunks, before the shipper starts.
 */
function writeAccessLog(path: string, lines: number): number {
  const random = seededRandom(0x5e1f);
  const fd = openSync(path, 'w');
  let bytes = 0;
  try {
    for (let start = 0; start < lines; start += WRITE_CHUNK_LINES) {
      const ts = Date.now();
      const chunk: string[] = [];
      for (let i = start; i < Math.min(start + WRITE_CHUNK_LINES, lines); i++) {
        const [, status] = levelAndStatus(random);
        chunk.push(accessLine(random, ts, status, false, i));
      }
      const buffer = Buffer.from(`${chunk.join('\n')}\n`);
      writeSync(fd, buffer);
      bytes += buffer.length;
    }
  } finally {
    closeSync(fd);
  }
  return bytes;
}

interface WireLine {
  pod: string;
  namespace: string | null;
  container: string | null;
  source: string | null;
  message: string;
}

/**
 * Every line the aggregator holds for the pod, page by page through nextCursor; fails unless each written
 * line is there exactly once, with the shipper's labels. Returns the number of pages read.
 */
async function verifyStored(port: number, pod: string, written: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const seen = new Uint8Array(written);
  let stored = 0;
  let duplicates = 0;
  let strangers = 0;
  let pages = 0;
  const problems: string[] = [];
  try {
    for (let cursor: string | null = null; ; ) {
      const params = new URLSearchParams({ pod, limit: String(QUERY_PAGE_LINES), format: 'json' });
      if (cursor !== null) params.set('cursor', cursor);
      const answer = await send(agent, port, 'GET', `/api/v1/logs?${params.toString()}`);
      if (answer.status !== 200) throw new Error(`GET /api/v1/logs?${params.toString()} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
      const page = JSON.parse(answer.body) as { lines: WireLine[]; nextCursor: string | null };
      pages++;
      for (const line of page.lines) {
        stored++;
        const seq = /[?&]seq=(\d+)[ &"]/.exec(line.message);
        const index = seq ? Number(seq[1]) : -1;
        const labelsRight =
          line.pod === pod && line.namespace === NAMESPACE && line.container === CONTAINER && line.source === LOG_FILE;
        if (index < 0 || index >= written || !labelsRight) {
          strangers++;
          if (problems.length < 3) problems.push(`unexpected line: ${JSON.stringify(line).slice(0, 300)}`);
        } else if (seen[index]++ > 0) {
          duplicates++;
          if (problems.length < 3) problems.push(`line seq=${index} stored more than once`);
        }
      }
      if (page.nextCursor === null) break;
      cursor = page.nextCursor;
    }
  } finally {
    agent.destroy();
  }
  const missing = seen.reduce((count, times) => count + (times === 0 ? 1 : 0), 0);
  if (stored !== written || missing > 0 || duplicates > 0 || strangers > 0) {
    const firstMissing = seen.indexOf(0);
    throw new Error(
      `the aggregator holds ${stored} lines for pod=${pod}, ${written} were written: ${missing} missing` +
        `${firstMissing >= 0 ? ` (the first seq=${firstMissing})` : ''}, ${duplicates} duplicates, ${strangers} unexpected` +
        `${problems.length > 0 ? `\n  ${problems.join('\n  ')}` : ''}`,
    );
  }
  return pages;
}

/**
 * One shipper measurement: a fresh aggregator child on a fresh data dir; `lines` access-log lines
 * written to <temp>/access.log; then the built shipper spawned on <temp>/*.log with the default batch
 * settings, timed from spawn until /metrics counts every line shipped. Peak RSS is read just before
 * SIGTERM; the stored lines are then checked one for one through the query API.
 */
export async function shipperRun(lines: number, pod: string, cpuProfDir?: string): Promise<ShipperOutcome> {
  const dataDir = makeTempDir('shipper-data');
  const logDir = makeTempDir('shipper-logs');
  let aggregator: AggregatorProcess | null = null;
  let shipper: ShipperProcess | null = null;
  try {
    aggregator = await AggregatorProcess.start(dataDir);
    const fileBytes = writeAccessLog(join(logDir, LOG_FILE), lines);

    const aggregatorCpu = aggregator.cpuSeconds();
    shipper = await ShipperProcess.start({
      aggregatorPort: aggregator.port,
      files: join(logDir, '*.log'),
      stateDir: join(logDir, '.daylog'),
      pod,
      namespace: NAMESPACE,
      container: CONTAINER,
      cpuProfDir,
    });
    const shipped = await shipper.waitShipped(lines, shippedTimeoutMs(lines));
    const aggregatorCpuAfter = aggregator.cpuSeconds();
    const peakRssBytes = shipper.peakRssBytes();
    const shipperCpuSeconds = shipper.cpuSeconds();
    await shipper.stop();
    shipper = null;

    const queryPages = await verifyStored(aggregator.port, pod, lines);
    await aggregator.stop();
    aggregator = null;
    return {
      lines,
      fileBytes,
      ms: shipped.ms,
      linesPerSec: lines / (shipped.ms / 1000),
      firstMetricsMs: shipped.firstMetricsMs,
      peakRssBytes,
      shipperCpuSeconds,
      aggregatorCpuSeconds:
        aggregatorCpu === null || aggregatorCpuAfter === null ? null : aggregatorCpuAfter - aggregatorCpu,
      queryPages,
    };
  } finally {
    shipper?.kill();
    aggregator?.kill();
    removeTempDir(logDir);
    removeTempDir(dataDir);
  }
}
