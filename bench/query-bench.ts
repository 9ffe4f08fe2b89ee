import http from 'node:http';
import { nowMs } from './bench-support';
import { BarePageServer } from './bare-page-server';
import { send } from './http-client';
import { NEEDLE } from './dataset';
import { RawFilter, RawLine, RawQueries } from './raw-query';

export const PAGE_LIMIT = 100;
/**
 * How long each page is asked, at least, before it is timed: a service answers the same kinds of request all day,
 * so its figure is the warm one (a fresh replica's first 33 pages of a pod took 5.5 ms at p50, 1.8 ms once warm).
 */
export const WARM_UP_MS = 2_000;
/** The needle as a regex that finds exactly the lines the substring does. */
const NEEDLE_REGEX = encodeURIComponent(`q=${NEEDLE.slice(0, -4)}[0-9a-f]{4} `);

export interface QueryCase {
  name: string;
  /** The query string after `format=json&`. */
  params: string;
  filter: RawFilter;
  /** Also timed against BarePageServer: the pages a raw statement answers at once, not the scans. */
  bare?: boolean;
}

export interface QueryOutcome {
  name: string;
  params: string;
  httpMs: number[];
  rawMs: number[];
  /** The same page from BarePageServer, when the case asks for it; else empty. */
  bareMs: number[];
  lines: number;
  plan: string;
  /** Why the HTTP page and the raw page differ, or null when they are the same lines. */
  mismatch: string | null;
}

/** The pages every engine's bench asks for, by name; `pod`: dataset.ts's benchPod. */
export function queryCases(pod: string): QueryCase[] {
  return [
    { name: 'pod_newest', params: `pod=${pod}&limit=${PAGE_LIMIT}`, filter: { pod }, bare: true },
    { name: 'errors_newest', params: `level=error&limit=${PAGE_LIMIT}`, filter: { levels: ['error'] }, bare: true },
    { name: 'substring', params: `q=${NEEDLE}&limit=${PAGE_LIMIT}`, filter: { contains: NEEDLE } },
    // Against the raw substring scan of the same lines: the pages must be the same.
    { name: 'word', params: `match=${NEEDLE}&limit=${PAGE_LIMIT}`, filter: { contains: NEEDLE } },
    { name: 'regex', params: `regex=${NEEDLE_REGEX}&limit=${PAGE_LIMIT}`, filter: { contains: NEEDLE } },
  ];
}

export interface WireLine {
  ts: string;
  pod: string;
  message: string;
}

/** GET of one page as JSON over `agent`, timed from sending to its last byte. */
export async function httpPage(agent: http.Agent, port: number, params: string): Promise<{ ms: number; lines: WireLine[] }> {
  const started = nowMs();
  const answer = await send(agent, port, 'GET', `/api/v1/logs?format=json&${params}`);
  const ms = nowMs() - started;
  if (answer.status !== 200) throw new Error(`GET ?${params} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return { ms, lines: (JSON.parse(answer.body) as { lines: WireLine[] }).lines };
}

async function barePage(agent: http.Agent, server: BarePageServer, filter: RawFilter): Promise<{ ms: number; lines: WireLine[] }> {
  const started = nowMs();
  const answer = await send(agent, server.port, 'GET', BarePageServer.path(filter, PAGE_LIMIT));
  const ms = nowMs() - started;
  if (answer.status !== 200) throw new Error(`the bare page server answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return { ms, lines: (JSON.parse(answer.body) as { lines: WireLine[] }).lines };
}

function rawPage(raw: RawQueries, filter: RawFilter): { ms: number; lines: RawLine[] } {
  const started = nowMs();
  const lines = raw.newest(filter, PAGE_LIMIT);
  return { ms: nowMs() - started, lines };
}

/** Why an HTTP page is not the raw one (newest first, ts, pod and message alike), or null. */
export function difference(httpLines: WireLine[], rawLines: readonly RawLine[]): string | null {
  if (httpLines.length !== rawLines.length) return `${httpLines.length} lines over HTTP, ${rawLines.length} raw`;
  for (let i = 0; i < httpLines.length; i++) {
    const [a, b] = [httpLines[i], rawLines[i]];
    if (Date.parse(a.ts) !== b.ts || a.pod !== b.pod || a.message !== b.message) {
      return `line ${i} differs: ${JSON.stringify(a)} vs ${JSON.stringify(b)}`;
    }
  }
  return null;
}

/**
 * Each case `warmups` times, then `reps` times timed, HTTP and raw (and the bare page server, for a case that asks)
 * taking turns so all see the same cache state. An HTTP sample runs from sending the request to the last byte of the
 * answer (parsing it is not timed); a raw sample is the catalogue look-ups (RawQueries) plus the partition statements
 * plus building the line objects.
 */
export async function queryBench(
  port: number,
  dataDir: string,
  cases: readonly QueryCase[],
  reps: number,
  warmups: number,
): Promise<{ outcomes: QueryOutcome[]; floorMs: number[] }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const raw = new RawQueries(dataDir);
  const bare = cases.some((c) => c.bare) ? await BarePageServer.start(dataDir) : null;
  try {
    const outcomes: QueryOutcome[] = [];
    for (const c of cases) {
      let mismatch: string | null = null;
      let lines = 0;
      const warming = nowMs();
      for (let i = 0; i < warmups || nowMs() - warming < WARM_UP_MS; i++) {
        const viaHttp = await httpPage(agent, port, c.params);
        const direct = rawPage(raw, c.filter);
        mismatch ??= difference(viaHttp.lines, direct.lines);
        if (c.bare && bare) mismatch ??= difference((await barePage(agent, bare, c.filter)).lines, direct.lines);
        lines = viaHttp.lines.length;
      }
      const httpMs: number[] = [];
      const rawMs: number[] = [];
      const bareMs: number[] = [];
      for (let i = 0; i < reps; i++) {
        httpMs.push((await httpPage(agent, port, c.params)).ms);
        rawMs.push(rawPage(raw, c.filter).ms);
        if (c.bare && bare) bareMs.push((await barePage(agent, bare, c.filter)).ms);
      }
      outcomes.push({ name: c.name, params: c.params, httpMs, rawMs, bareMs, lines, plan: raw.plan(c.filter, PAGE_LIMIT), mismatch });
    }
    // The cheapest route through the same stack: what any answer costs before storage is asked.
    const floorMs: number[] = [];
    for (let i = 0; i < warmups + reps; i++) {
      const started = nowMs();
      const answer = await send(agent, port, 'GET', '/healthz');
      if (answer.status !== 200) throw new Error(`GET /healthz answered ${answer.status}`);
      if (i >= warmups) floorMs.push(nowMs() - started);
    }
    return { outcomes, floorMs };
  } finally {
    raw.close();
    agent.destroy();
    await bare?.stop();
  }
}
