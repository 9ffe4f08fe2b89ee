import http from 'node:http';
import { nowMs } from './bench-support';
import { BatchDone } from './steady-rate';

export const HOST = '127.0.0.1';
const REQUEST_TIMEOUT_MS = 120_000;

export interface HttpAnswer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

/** One request on loopback; the whole answer body as text. */
export function send(
  agent: http.Agent | false,
  port: number,
  method: 'GET' | 'POST',
  path: string,
  body?: Buffer,
  extraHeaders: http.OutgoingHttpHeaders = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = body
      ? { 'content-type': 'application/json', 'content-length': body.length, ...extraHeaders }
      : extraHeaders;
    const request = http.request({ host: HOST, port, method, path, agent, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('error', reject);
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: response.headers }));
    });
    request.setTimeout(REQUEST_TIMEOUT_MS, () => request.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    request.on('error', reject);
    request.end(body);
  });
}

export interface IngestOutcome {
  ms: number;
  /** Each request answered 200, with when and its lines. */
  done: BatchDone[];
  requests: number;
  failures: number;
  /** The first few failures, said in a line each. */
  problems: string[];
}

interface IngestAnswerBody {
  accepted?: unknown;
  rejected?: unknown;
  duplicate?: unknown;
}

function answerProblem(answer: HttpAnswer, expected: number): string | null {
  if (answer.status !== 200) return `status ${answer.status}: ${answer.body.slice(0, 300)}`;
  let parsed: IngestAnswerBody;
  try {
    parsed = JSON.parse(answer.body) as IngestAnswerBody;
  } catch {
    return `200 with a body that is not JSON: ${answer.body.slice(0, 300)}`;
  }
  const rejected = Array.isArray(parsed.rejected) ? parsed.rejected.length : -1;
  if (parsed.accepted !== expected || rejected !== 0 || parsed.duplicate !== false) {
    return `accepted ${String(parsed.accepted)} of ${expected}: ${answer.body.slice(0, 300)}`;
  }
  return null;
}

/**
 * POSTs every body from `clients` concurrent senders over a keep-alive agent, each taking the next body
 * as it finishes one; every answer must be 200 with all its lines accepted. Timed from the first send to
 * the last answer. Several ports (replicas): the senders are dealt among them in turn.
 */
export async function postAll(
  ports: number | readonly number[],
  bodies: readonly Buffer[],
  linesIn: (index: number) => number,
  clients: number,
): Promise<IngestOutcome> {
  const portOf = (sender: number) => (typeof ports === 'number' ? ports : ports[sender % ports.length]);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  let next = 0;
  let failures = 0;
  const problems: string[] = [];
  const done: BatchDone[] = [];
  const fail = (index: number, problem: string) => {
    failures++;
    if (problems.length < 5) problems.push(`batch ${index}: ${problem}`);
  };
  const sender = async (port: number): Promise<void> => {
    while (next < bodies.length) {
      const index = next++;
      try {
        const answer = await send(agent, port, 'POST', '/api/v1/logs', bodies[index]);
        const problem = answerProblem(answer, linesIn(index));
        if (problem) fail(index, problem);
        else done.push({ atMs: nowMs() - started, lines: linesIn(index) });
      } catch (error) {
        fail(index, (error as Error).message);
      }
    }
  };
  const started = nowMs();
  try {
    await Promise.all(Array.from({ length: clients }, (_, i) => sender(portOf(i))));
    return { ms: nowMs() - started, done, requests: bodies.length, failures, problems };
  } finally {
    agent.destroy();
  }
}

/** `name value` pairs of a Prometheus text answer; comments skipped. */
export function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    values.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return values;
}
