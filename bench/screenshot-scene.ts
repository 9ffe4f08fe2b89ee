import { ParsedLine, parseJsonLine, parseNginxAccess, parseNginxError } from '@daylog/shipper';
import { nginxTime, pad2, seededRandom } from './dataset';

/**
 * The README's screenshots' lines: the last hour of a shop's namespace, two nginx pods and the checkout app behind
 * them, with five minutes in which the payment provider times out. Times are relative to `endMs` (now); everything
 * else comes from a seeded generator, so each run draws the same picture.
 */
export const SCENE_NAMESPACE = 'shop';
export const WEB_PODS = ['web-7c9f8-1', 'web-7c9f8-2'];
const CHECKOUT_POD = 'checkout-5d8b6-1';

const MINUTE_MS = 60_000;
const SCENE_MS = 60 * MINUTE_MS;
/** The outage, as minutes before the end. */
const OUTAGE_FROM = 22;
const OUTAGE_TO = 17;
const ACCESS_EVERY_MS = 15_000;
const APP_EVERY_MS = 30_000;

export interface SceneBatch {
  labels: Record<string, string>;
  /** Each line as the shipper's parser for its file makes it. */
  lines: ParsedLine[];
}

const ROUTES = [
  ['GET', '/api/v1/products'],
  ['GET', '/api/v1/cart'],
  ['POST', '/api/v1/cart/items'],
  ['POST', '/api/v1/orders'],
  ['GET', '/category/shoes'],
] as const;
const AGENT = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
const UPSTREAM = 'http://10.244.1.17:8080';

/** nginx's error log time: its local time (UTC in a container), without a zone. */
function errorLogTime(ts: number): string {
  const d = new Date(ts);
  return `${d.getUTCFullYear()}/${pad2(d.getUTCMonth() + 1)}/${pad2(d.getUTCDate())} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

function inOutage(ts: number, endMs: number): boolean {
  return ts >= endMs - OUTAGE_FROM * MINUTE_MS && ts < endMs - OUTAGE_TO * MINUTE_MS;
}

function webPod(pod: string, podIndex: number, endMs: number, random: () => number): SceneBatch[] {
  const access: ParsedLine[] = [];
  const errors: ParsedLine[] = [];
  for (let ts = endMs - SCENE_MS + podIndex * 7_000; ts <= endMs; ts += ACCESS_EVERY_MS) {
    const [method, route] = ROUTES[Math.floor(random() * ROUTES.length)];
    const path = route === '/api/v1/cart' || route === '/category/shoes' ? route : `${route}/${1000 + Math.floor(random() * 9000)}`;
    const client = `10.0.${podIndex + 1}.${10 + Math.floor(random() * 200)}`;
    const failed = route === '/api/v1/orders' && inOutage(ts, endMs);
    const status = failed ? (random() < 0.5 ? 504 : 502) : random() < 0.05 ? 404 : 200;
    const took = failed ? 5 + random() * 0.01 : 0.002 + random() * 0.08;
    access.push(parseNginxAccess(`${client} - - [${nginxTime(ts)}] "${method} ${path} HTTP/1.1" ${status} ${failed ? 167 : Math.floor(200 + random() * 9000)} "https://shop.example.com/" "${AGENT}" ${took.toFixed(3)}`));
    if (failed) {
      const connection = 4000 + Math.floor(random() * 1000);
      errors.push(
        parseNginxError(
          `${errorLogTime(ts + 5_000)} [error] 29#29: *${connection} upstream timed out (110: Connection timed out) while reading response header from upstream, ` +
            `client: ${client}, server: shop.example.com, request: "${method} ${path} HTTP/1.1", upstream: "${UPSTREAM}${path}", host: "shop.example.com"`,
        ),
      );
    }
  }
  const labels = { namespace: SCENE_NAMESPACE, pod, container: 'nginx' };
  return [
    { labels: { ...labels, source: 'access.log' }, lines: access },
    { labels: { ...labels, source: 'error.log' }, lines: errors },
  ];
}

/** The checkout app's JSON lines, as its logger writes them to stdout. */
function checkoutPod(endMs: number, random: () => number): SceneBatch {
  const lines: ParsedLine[] = [];
  const write = (record: Record<string, string | number>) => lines.push(parseJsonLine(JSON.stringify(record)));
  for (let ts = endMs - SCENE_MS + 3_000; ts <= endMs; ts += APP_EVERY_MS) {
    const time = new Date(ts).toISOString();
    const order = `o-${10_000 + Math.floor(random() * 90_000)}`;
    if (inOutage(ts, endMs)) {
      write({ time, level: 'warn', msg: 'payment provider slow, retrying', order_id: order, attempt: 2, provider: 'payline' });
      write({ time: new Date(ts + 5_000).toISOString(), level: 'error', msg: 'POST /api/v1/orders failed: payment provider timed out after 5000 ms', order_id: order, provider: 'payline' });
    } else if (random() < 0.15) {
      write({ time, level: 'debug', msg: 'cart recalculated', items: 1 + Math.floor(random() * 6) });
    } else {
      write({ time, level: 'info', msg: 'order placed', order_id: order, amount_eur: Math.round(1000 + random() * 20_000) / 100, duration_ms: 80 + Math.floor(random() * 300) });
    }
  }
  return { labels: { namespace: SCENE_NAMESPACE, pod: CHECKOUT_POD, container: 'app', source: 'stdout' }, lines };
}

export function screenshotScene(endMs: number): SceneBatch[] {
  const random = seededRandom(0x5c3e);
  return [...WEB_PODS.flatMap((pod, i) => webPod(pod, i, endMs, random)), checkoutPod(endMs, random)];
}
