import { Level, LogLine } from '@daylog/log-model';

export const NAMESPACE = 'shop';
export const CONTAINER = 'nginx';
export const SOURCE = 'access.log';
export const POD_COUNT = 50;
export const BATCH_LINES = 1000;
/** One line in this many carries the needle (the first at half that index). */
export const NEEDLE_EVERY = 100_000;
export const NEEDLE = 'needle-7f3a';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
/**
 * The oldest line is this much younger than 24 h when the data is made, so that it is still inside the
 * aggregator's retention (24 h) when the last ingest run sends it a few minutes later.
 */
export const RETENTION_MARGIN_MS = 20 * 60_000;

export function podName(i: number): string {
  return `web-7c9f8-${i}`;
}

export interface Dataset {
  /** Ascending ts; consecutive slices of BATCH_LINES share one pod. */
  lines: LogLine[];
  /** One pre-serialized `{"labels": …, "lines": […]}` body per slice. */
  bodies: Buffer[];
  firstTs: number;
  lastTs: number;
  meanMessageBytes: number;
  bodyBytes: number;
  levelCounts: Record<Level, number>;
  needles: number;
}

/** The pod whose newest lines the query benches page through: the eighth, or the last there is. */
export function benchPod(dataset: Dataset): string {
  return podName(Math.min(7, dataset.bodies.length - 1) % POD_COUNT);
}

/** mulberry32: a small seeded generator, so every run (and every machine) sees the same data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const METHODS = ['GET', 'GET', 'GET', 'GET', 'POST', 'GET', 'PUT', 'GET'];
const PATHS = ['/api/v1/products', '/api/v1/cart/items', '/api/v1/orders', '/static/js/app.bundle', '/category/shoes'];
const REFERERS = ['https://shop.example.com/', 'https://shop.example.com/cart', 'https://www.google.com/', '-'];
const AGENTS = [
  'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  'kube-probe/1.30',
];
const INFO_STATUS = [200, 200, 200, 200, 200, 201, 204, 301, 304];
const WARN_STATUS = [400, 403, 404, 404, 429, 499];
const ERROR_STATUS = [500, 502, 503, 504];

export function pad2(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/** nginx's `$time_local` in UTC: `24/Nov/2026:10:00:00 +0000`. */
export function nginxTime(ts: number): string {
  const d = new Date(ts);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(
    d.getUTCMinutes(),
  )}:${pad2(d.getUTCSeconds())} +0000`;
}

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

/** ~90 % info, ~7 % warn, ~3 % error, with an nginx status to match. */
export function levelAndStatus(random: () => number): [Level, number] {
  const r = random();
  if (r < 0.9) return ['info', pick(random, INFO_STATUS)];
  if (r < 0.97) return ['warn', pick(random, WARN_STATUS)];
  return ['error', pick(random, ERROR_STATUS)];
}

/** `seq`, when given, is appended to the query string (`&seq=…`) so that each line can be told apart. */
export function accessLine(random: () => number, ts: number, status: number, needle: boolean, seq?: number): string {
  const ip = `10.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`;
  const path = needle
    ? `/search?q=${NEEDLE}`
    : `${pick(random, PATHS)}/${Math.floor(random() * 100_000)}?page=${Math.floor(random() * 20)}` +
      (seq === undefined ? '' : `&seq=${seq}`);
  const bytes = Math.floor(random() * 50_000);
  const rt = (random() * 0.5).toFixed(3);
  return (
    `${ip} - - [${nginxTime(ts)}] "${pick(random, METHODS)} ${path} HTTP/1.1" ${status} ${bytes} ` +
    `"${pick(random, REFERERS)}" "${pick(random, AGENTS)}" rt=${rt}`
  );
}

/** count lines over [endMs − 24 h + margin, endMs], ascending, evenly spaced. */
export function makeDataset(count: number, endMs: number): Dataset {
  const random = seededRandom(0x7f3a);
  const firstTs = endMs - DAY_MS + RETENTION_MARGIN_MS;
  const span = endMs - firstTs;
  const lines: LogLine[] = new Array<LogLine>(count);
  const levelCounts: Record<Level, number> = { trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 };
  let messageBytes = 0;
  let needles = 0;
  for (let i = 0; i < count; i++) {
    const ts = firstTs + Math.floor((i * span) / Math.max(1, count - 1));
    const [level, status] = levelAndStatus(random);
    const needle = i % NEEDLE_EVERY === NEEDLE_EVERY / 2;
    const message = accessLine(random, ts, status, needle);
    const pod = podName(Math.floor(i / BATCH_LINES) % POD_COUNT);
    lines[i] = { ts, level, namespace: NAMESPACE, pod, container: CONTAINER, source: SOURCE, message, fields: null, format: 'nginx-access' };
    levelCounts[level]++;
    messageBytes += Buffer.byteLength(message);
    if (needle) needles++;
  }

  const bodies: Buffer[] = [];
  let bodyBytes = 0;
  for (let start = 0; start < count; start += BATCH_LINES) {
    const slice = lines.slice(start, start + BATCH_LINES);
    const body = Buffer.from(
      JSON.stringify({
        labels: { namespace: NAMESPACE, pod: slice[0].pod, container: CONTAINER, source: SOURCE },
        lines: slice.map((line) => ({ ts: line.ts, level: line.level, message: line.message, format: line.format })),
      }),
    );
    bodies.push(body);
    bodyBytes += body.length;
  }
  return {
    lines,
    bodies,
    firstTs,
    lastTs: lines[count - 1].ts,
    meanMessageBytes: messageBytes / count,
    bodyBytes,
    levelCounts,
    needles,
  };
}
