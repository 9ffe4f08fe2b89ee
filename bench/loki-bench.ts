import http from 'node:http';
import { nowMs } from './bench-support';
import { send } from './http-client';
import { NAMESPACE } from './dataset';
import { WARM_UP_MS } from './query-bench';

/** What Grafana shows of a day: the newest 1000 lines of a pod, and the volume histogram of the namespace. */
const LINES = 1000;
const STEP = '5m';
const STEP_MS = 300_000;
const DAY_MS = 86_400_000;

export interface LokiOutcome {
  /** `query_range` for the newest lines of a pod over 24 h, and `/api/v1/logs` for the same lines. */
  rangeMs: number[];
  logsMs: number[];
  lines: number;
  /** Why the two answers differ, or null when they hold the same lines. */
  mismatch: string | null;
  /** Grafana's volume query over 24 h, and `/api/v1/stats` for the same namespace and step. */
  volumeMs: number[];
  statsMs: number[];
  volumeLines: number;
  statsLines: number;
}

const ns = (ms: number): string => `${BigInt(ms) * 1_000_000n}`;

async function timed(agent: http.Agent, port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<{ ms: number; body: string }> {
  const started = nowMs();
  const answer = await send(agent, port, 'GET', path, undefined, headers);
  const ms = nowMs() - started;
  if (answer.status !== 200) throw new Error(`GET ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return { ms, body: answer.body };
}

/**
 * Loki's query API as Grafana asks it (categorize-labels, nanosecond bounds, `step` in ms) next to Daylog's own
 * endpoints for the same lines, on one keep-alive connection, taking turns; each warmed for WARM_UP_MS first.
 */
export async function lokiBench(port: number, pod: string, reps: number): Promise<LokiOutcome> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const grafana = { 'X-Loki-Response-Encoding-Flags': 'categorize-labels' };
  try {
    const end = Date.now();
    const range = (query: string, extra: Record<string, string>) =>
      `/loki/api/v1/query_range?${new URLSearchParams({ direction: 'backward', end: ns(end), query, start: ns(end - DAY_MS), ...extra }).toString()}`;
    const cases = {
      range: range(`{pod="${pod}"}`, { limit: String(LINES), step: '345600ms' }),
      logs: `/api/v1/logs?format=json&pod=${pod}&limit=${LINES}&from=${new Date(end - DAY_MS).toISOString()}&to=${new Date(end).toISOString()}`,
      volume: range(`sum by (level, detected_level) (count_over_time({namespace="${NAMESPACE}"} | drop __error__[${STEP}]))`, { limit: String(LINES), step: `${STEP_MS}ms` }),
      stats: `/api/v1/stats?format=json&namespace=${NAMESPACE}&since=24h&step=${STEP}`,
    };
    const answers: Record<keyof typeof cases, string> = { range: '', logs: '', volume: '', stats: '' };
    const samples: Record<keyof typeof cases, number[]> = { range: [], logs: [], volume: [], stats: [] };
    for (const name of Object.keys(cases) as (keyof typeof cases)[]) {
      const warming = nowMs();
      while (nowMs() - warming < WARM_UP_MS) answers[name] = (await timed(agent, port, cases[name], grafana)).body;
    }
    for (let i = 0; i < reps; i++) {
      for (const name of Object.keys(cases) as (keyof typeof cases)[]) samples[name].push((await timed(agent, port, cases[name], grafana)).ms);
    }
    const lokiLines = (JSON.parse(answers.range) as { data: { result: { values: [string, string][] }[] } }).data.result.flatMap((s) => s.values.map(([ts, line]) => `${ts} ${line}`));
    const daylogLines = (JSON.parse(answers.logs) as { lines: { ts: string; message: string }[] }).lines.map((l) => `${ns(Date.parse(l.ts))} ${l.message}`);
    const same = JSON.stringify([...lokiLines].sort()) === JSON.stringify([...daylogLines].sort());
    const volume = JSON.parse(answers.volume) as { data: { result: { values: [number, string][] }[] } };
    const stats = JSON.parse(answers.stats) as { total: number };
    return {
      rangeMs: samples.range,
      logsMs: samples.logs,
      lines: lokiLines.length,
      mismatch: same ? null : `${lokiLines.length} lines from query_range, ${daylogLines.length} from /api/v1/logs, not the same`,
      volumeMs: samples.volume,
      statsMs: samples.stats,
      volumeLines: volume.data.result.reduce((sum, s) => sum + s.values.reduce((n, [, v]) => n + Number(v), 0), 0),
      statsLines: stats.total,
    };
  } finally {
    agent.destroy();
  }
}
