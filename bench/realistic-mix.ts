import { Level, LogLine } from '@daylog/log-model';
import { makeTempDir, removeTempDir } from './bench-support';
import { compactionRun } from './compaction-bench';
import { accessLine, levelAndStatus, pad2, seededRandom } from './dataset';
import { PARTITION_MS, rawIngest } from './raw-ingest';
import { AddFigure, formatInt, say } from './report';

/** Closed hours of the mix, and a few minutes of the hour after them (the open one, which is not compacted). */
const CLOSED_HOURS = 3;

const UPSTREAM_ERRORS = [
  'connect() failed (111: Connection refused) while connecting to upstream',
  'upstream timed out (110: Connection timed out) while reading response header from upstream',
  'no live upstreams while connecting to upstream',
  'upstream prematurely closed connection while reading response header from upstream',
];
const APP_EVENTS = ['order created', 'payment authorised', 'payment declined', 'cart updated', 'stock reserved', 'email queued', 'session refreshed'];

export interface MixOutcome {
  lines: number;
  meanMessageBytes: number;
  /** Of the closed hours: rows with their word index, then compacted blocks with theirs. */
  closedLines: number;
  bytesBefore: number;
  bytesAfter: number;
}

function hex(random: () => number, digits: number): string {
  let text = '';
  for (let i = 0; i < digits; i++) text += Math.floor(random() * 16).toString(16);
  return text;
}

/** nginx's error log time, `2026/12/06 03:00:01`, in UTC. */
function errorTime(ts: number): string {
  const d = new Date(ts);
  return `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/**
 * What a cluster's day looks like beside the bench's access lines: 60 % nginx access lines and 5 % nginx error
 * lines (of 20 web pods), 35 % JSON lines of 10 app pods, each with an order id, a user id, a trace id and a
 * duration. In time order, evenly spread over CLOSED_HOURS closed hours and a bit of the next.
 */
export function realisticMix(count: number, endMs: number): LogLine[] {
  const random = seededRandom(0x5eed);
  const hourEnd = endMs - (endMs % PARTITION_MS);
  const firstTs = hourEnd - CLOSED_HOURS * PARTITION_MS;
  const span = endMs - firstTs;
  const lines: LogLine[] = new Array<LogLine>(count);
  for (let i = 0; i < count; i++) {
    const ts = firstTs + Math.floor((i * span) / count);
    const kind = random();
    if (kind < 0.6) {
      const [level, status] = levelAndStatus(random);
      const pod = `web-${Math.floor(random() * 20)}`;
      lines[i] = { ts, level, namespace: 'shop', pod, container: 'nginx', source: 'access.log', message: accessLine(random, ts, status, false), fields: null, format: 'nginx-access' };
    } else if (kind < 0.65) {
      const pod = `web-${Math.floor(random() * 20)}`;
      const client = `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
      const upstream = `10.0.${Math.floor(random() * 8)}.${Math.floor(random() * 256)}:8080`;
      const path = `/api/orders/${Math.floor(random() * 100_000)}`;
      const message =
        `${errorTime(ts)} [error] 31#31: *${Math.floor(random() * 10_000_000)} ${UPSTREAM_ERRORS[Math.floor(random() * UPSTREAM_ERRORS.length)]}, ` +
        `client: ${client}, server: shop.example.com, request: "GET ${path} HTTP/1.1", upstream: "http://${upstream}${path}", host: "shop.example.com"`;
      lines[i] = { ts, level: 'error', namespace: 'shop', pod, container: 'nginx', source: 'error.log', message, fields: null, format: 'nginx-error' };
    } else {
      const event = APP_EVENTS[Math.floor(random() * APP_EVENTS.length)];
      const level: Level = event === 'payment declined' ? 'warn' : 'info';
      const message = JSON.stringify({
        level,
        ts: new Date(ts).toISOString(),
        msg: event,
        order_id: `ord_${hex(random, 16)}`,
        user_id: Math.floor(random() * 1_000_000),
        trace_id: hex(random, 32),
        duration_ms: Math.round(random() * 5000) / 10,
      });
      lines[i] = { ts, level, namespace: 'shop', pod: `orders-${Math.floor(random() * 10)}`, container: 'app', source: 'stdout', message, fields: null, format: null };
    }
  }
  return lines;
}

/** The mix stored as rows (the raw baseline's files), then its closed hours compacted in this process, as the bench's own lines are. */
export function mixCompaction(count: number, endMs: number): MixOutcome {
  const lines = realisticMix(count, endMs);
  const dataDir = makeTempDir('mix');
  try {
    rawIngest(lines, dataDir);
    const compaction = compactionRun(dataDir);
    const messageBytes = lines.reduce((sum, line) => sum + Buffer.byteLength(line.message), 0);
    return { lines: lines.length, meanMessageBytes: messageBytes / lines.length, closedLines: compaction.lines, bytesBefore: compaction.bytesBefore, bytesAfter: compaction.bytesAfter };
  } finally {
    removeTempDir(dataDir);
  }
}

/** The mix's closed hours, before and after compaction, against its mean message. */
export function reportMix(mix: MixOutcome, figure: AddFigure): void {
  const before = mix.bytesBefore / mix.closedLines;
  const after = mix.bytesAfter / mix.closedLines;
  say(
    `storage.bytes_per_line_closed_mix ${after.toFixed(1)} B (${formatInt(mix.closedLines)} lines of nginx access and error lines and JSON app logs ` +
      `with ids in ${CLOSED_HOURS} compacted hours, word index of blocks included; ${before.toFixed(1)} B as rows) vs mean message ` +
      `${mix.meanMessageBytes.toFixed(1)} B: ${(after / mix.meanMessageBytes).toFixed(3)}× (${(before / mix.meanMessageBytes).toFixed(2)}× as rows)`,
  );
  figure('storage.bytes_per_line_closed_mix', after, 'B', mix.meanMessageBytes, 1);
}
