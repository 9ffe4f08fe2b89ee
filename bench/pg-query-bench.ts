import http from 'node:http';
import { LogLine } from '@daylog/log-model';
import { QueryPage } from '@daylog/storage';
import { median, nowMs } from './bench-support';
import { PAGE_LIMIT, QueryCase, WARM_UP_MS, WireLine, difference, httpPage } from './query-bench';
import { Shape } from './pg-raw-query';

const DAY_MS = 86_400_000;
/** Fewer timed repetitions than this say too little of a p50, however slow the page. */
const MIN_REPS = 5;
/** A repetition slower than this reads the whole day: nothing is left to warm after one. */
const SLOW_REP_MS = 1_000;

/** A page asked over HTTP and through the engine's reader, and the raw SQL shapes of the same lines both are measured against. */
export interface PgPageCase {
  http: QueryCase;
  /** The same page read in this process by the engine's reader, without HTTP (pg-engine-pages.ts). */
  engine: () => Promise<QueryPage>;
  /** The shapes whose page must be the same lines; each is timed, taking turns with HTTP. */
  raw: Shape[];
  /** The raw page's name, when it is another case's (a word search against the substring scan of the same lines). */
  rawPage: string;
}

export interface PgPageOutcome {
  name: string;
  params: string;
  rawPage: string;
  lines: number;
  httpMs: number[];
  engineMs: number[];
  raw: { shape: string; ms: number[] }[];
  warmups: number;
  /** Why the HTTP page is not a raw shape's, or null when every shape gave the same lines. */
  mismatch: string | null;
  /** Why the engine's page is not HTTP's (or was cut short by its budget), or null when it is the same lines. */
  engineMismatch: string | null;
}

export interface PgQueryBenchOptions {
  reps: number;
  warmups: number;
  /** What one case may take, roughly: a slow page is timed fewer times (at least MIN_REPS). */
  budgetMs: number;
}

/** The raw shape of an outcome with the lowest p50: the baseline its page is held to. */
export function fastestRaw(outcome: PgPageOutcome): { shape: string; ms: number[] } {
  return outcome.raw.reduce((best, shape) => (median(shape.ms) < median(best.ms) ? shape : best));
}

/** Why the engine's page is not the HTTP one, or null. */
function engineDifference(viaHttp: WireLine[], page: QueryPage): string | null {
  if (page.stopped !== null) return `its budget stopped it (${page.stopped}) after ${page.lines.length} lines`;
  const why = difference(viaHttp, page.lines);
  return why && `against HTTP's: ${why}`;
}

/**
 * Each case: a first repetition (HTTP, then the engine, then each raw shape) whose pages are compared and
 * whose time sets how many repetitions fit the budget, the rest of the warm-ups, then the timed repetitions,
 * HTTP, the engine and the raw shapes taking turns so that all see the same cache state. An HTTP sample runs
 * from sending the request to the last byte of its answer; an engine one is the reader's query (its statements
 * and making the lines); a raw one is the statements' round trips plus making the line objects.
 */
export async function pgQueryBench(port: number, cases: readonly PgPageCase[], options: PgQueryBenchOptions): Promise<PgPageOutcome[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const rep = async (c: PgPageCase) => {
    const started = nowMs();
    const viaHttp = await httpPage(agent, port, c.http.params);
    const read = nowMs();
    const page = await c.engine();
    const engine = { ms: nowMs() - read, page };
    const raw: { ms: number; lines: LogLine[] }[] = [];
    for (const shape of c.raw) {
      const sent = nowMs();
      const lines = await shape.page(Date.now() - DAY_MS);
      raw.push({ ms: nowMs() - sent, lines });
    }
    return { ms: nowMs() - started, viaHttp, engine, raw };
  };
  try {
    const outcomes: PgPageOutcome[] = [];
    for (const c of cases) {
      const first = await rep(c);
      const mismatch =
        c.raw.map((shape, i) => {
          // The raw SQL reads one line past the page, as the reader does to know whether there is a next page.
          const why = difference(first.viaHttp.lines, first.raw[i].lines.slice(0, PAGE_LIMIT));
          return why && `against ${c.rawPage}'s "${shape.name}": ${why}`;
        }).find((why) => why !== null) ?? null;
      const engineMismatch = engineDifference(first.viaHttp.lines, first.engine.page);
      let warmups = 1;
      const warming = nowMs();
      if (first.ms <= SLOW_REP_MS) for (; warmups < options.warmups || nowMs() - warming < WARM_UP_MS; warmups++) await rep(c);
      const reps = Math.max(MIN_REPS, Math.min(options.reps, Math.floor(options.budgetMs / first.ms)));
      const httpMs: number[] = [];
      const engineMs: number[] = [];
      const rawMs: number[][] = c.raw.map(() => []);
      for (let i = 0; i < reps; i++) {
        const sample = await rep(c);
        httpMs.push(sample.viaHttp.ms);
        engineMs.push(sample.engine.ms);
        sample.raw.forEach((shape, s) => rawMs[s].push(shape.ms));
      }
      outcomes.push({
        name: c.http.name,
        params: c.http.params,
        rawPage: c.rawPage,
        lines: first.viaHttp.lines.length,
        httpMs,
        engineMs,
        raw: c.raw.map((shape, s) => ({ shape: shape.name, ms: rawMs[s] })),
        warmups,
        mismatch,
        engineMismatch,
      });
    }
    return outcomes;
  } finally {
    agent.destroy();
  }
}
