import { Agent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { constants, gzipSync } from 'node:zlib';
import { ShipperConfig } from '@daylog/config/shipper';
import { IngestAnswer, LabelName } from '@daylog/log-model';
import { ConnectionLanes } from './connection-lanes';
import { DeliveryFailure, DeliveryHealth, causeOfStatus } from './delivery-health';
import { IngestRequestEncoder, LabelledLine } from './ingest-request';
import { logEvent } from './log-event';
import { ShipperMetrics } from './shipper-metrics';

/** An aggregator that takes a request and never answers is given up on after this, and retried. */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * Connections to the aggregator over http (ConnectionLanes). Measured with the node agent's 200
 * containers: one connection left the aggregator idle between each answer and the next request
 * (~15 ms a batch of 1000 lines, 51k lines/s); four, each with another file's batch, ~62k lines/s.
 */
export const AGGREGATOR_CONNECTIONS = 4;

export interface OutgoingLine extends LabelledLine {
  /** Byte offset just past the line in its file. */
  endOffset: number;
  /**
   * Where the line's bytes in its file begin, when lines may end out of order (a node's: a line in
   * pieces ends after the lines of the other stream written between them): a batch that leaves the
   * line out may not end past it.
   */
  startOffset?: number;
}

/** Lines of one file, bytes [start, last line's endOffset): the range names the batch. */
export interface OutgoingBatch {
  identity: string;
  /** The file's: the sidecar's pod, or the container a node's file belongs to. */
  labels: Partial<Record<LabelName, string | null>>;
  start: number;
  lines: OutgoingLine[];
}

export const batchEnd = (batch: OutgoingBatch): number => batch.lines[batch.lines.length - 1].endOffset;
export const batchKey = (batch: OutgoingBatch): string => `${batch.identity}:${batch.start}-${batchEnd(batch)}`;

export interface RetryPolicy {
  baseMs: number;
  capMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, capMs: 30_000 };

/** `answered`: the lines are stored, or refused as lines. */
type Attempt = { outcome: 'answered' } | { outcome: 'too-large' } | { outcome: 'failed'; failure: DeliveryFailure; afterMs: number };

interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

/** The longest answer body kept: the aggregator's answers are small; anything else is cut. */
const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * One POST with node:http rather than fetch: undici alone adds ~12 MB of RSS to a sidecar that
 * must stay well under 80 MB.
 */
function post(url: URL, agent: Agent | undefined, headers: Record<string, string>, body: Buffer, signal: AbortSignal): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const request = send(url, { method: 'POST', headers: { ...headers, 'Content-Length': String(body.length) }, agent, signal }, (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size <= MAX_ANSWER_BYTES) chunks.push(chunk);
      });
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, text: Buffer.concat(chunks).toString('utf8') }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

/** `Retry-After` as seconds or an HTTP date, in ms from now. */
export function retryAfterMs(header: string | null, nowMs: number): number {
  if (!header) return 0;
  if (/^\d+$/.test(header.trim())) return Number(header) * 1000;
  const date = Date.parse(header);
  return Number.isNaN(date) ? 0 : Math.max(0, date - nowMs);
}

/** Full jitter: anywhere from 0 to the capped exponential step, so many senders do not retry in step. */
export function backoffDelayMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  return random() * Math.min(policy.capMs, policy.baseMs * 2 ** attempt);
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function parseAnswer(text: string): Partial<IngestAnswer> & { error?: unknown } {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === 'object' && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

/** The aggregator's `error` sentence, or the start of whatever else answered, on one line. */
function reasonOf(status: number, answer: { error?: unknown }, text: string): string {
  const said = (typeof answer.error === 'string' ? answer.error : text.slice(0, 200)).replace(/\s+/g, ' ').trim();
  if (status < 400) return `${status} is not an answer of Daylog's ingest (is DAYLOG_URL the aggregator?): ${said}`;
  return `${status} ${said}`.trim();
}

/**
 * POSTs batches to the aggregator until each is stored, or its lines are refused as lines. Every
 * other answer is about the sender's configuration or the aggregator (a wrong token or URL, a full
 * disk, no answer): the batch is kept and sent again for as long as it takes, so the checkpoint
 * never passes a line that was not stored.
 */
export class AggregatorClient {
  private readonly endpoint: URL;
  /** Over http; https goes through Node's global agent. */
  private readonly lanes: ConnectionLanes | undefined;
  private readonly encoder = new IngestRequestEncoder();

  constructor(
    private readonly config: ShipperConfig,
    private readonly metrics: ShipperMetrics,
    private readonly health: DeliveryHealth,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly random: () => number = Math.random,
  ) {
    this.endpoint = new URL(`${config.url}/api/v1/logs`);
    this.lanes = this.endpoint.protocol === 'http:' ? new ConnectionLanes(AGGREGATOR_CONNECTIONS) : undefined;
  }

  /** Lets go of the kept-alive connections. */
  close(): void {
    this.lanes?.destroy();
  }

  /**
   * Resolves once every line is stored or refused as a line; calls onAcked after each piece (a 413
   * halves the batch, each half under its own range). Rejects only when the signal aborts.
   */
  async deliver(batch: OutgoingBatch, onAcked: (endOffset: number) => void, signal: AbortSignal): Promise<void> {
    const agent = this.lanes?.take(batch.identity);
    try {
      const pieces = [batch];
      while (pieces.length > 0) {
        const piece = pieces.shift()!;
        const outcome = await this.sendUntilAnswered(piece, agent, signal);
        if (outcome === 'too-large' && piece.lines.length > 1) {
          const half = Math.ceil(piece.lines.length / 2);
          const first = { ...piece, lines: piece.lines.slice(0, half) };
          pieces.unshift(first, { ...piece, start: batchEnd(first), lines: piece.lines.slice(half) });
          this.metrics.batchesSplit++;
          logEvent('batch_split', { key: batchKey(piece), lines: piece.lines.length });
          continue;
        }
        onAcked(batchEnd(piece));
      }
    } finally {
      this.lanes?.release(batch.identity);
    }
  }

  /** Sends until the aggregator answers about the lines, waiting a backoff step after each failed attempt. */
  private async sendUntilAnswered(batch: OutgoingBatch, agent: Agent | undefined, signal: AbortSignal): Promise<'done' | 'too-large'> {
    const key = batchKey(batch);
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(batch, agent, signal);
      if (result.outcome !== 'failed') {
        this.health.answered(key);
        if (result.outcome === 'answered') return 'done';
        if (batch.lines.length > 1) return 'too-large';
        this.giveUp(batch, 'a single line is larger than the aggregator takes');
        return 'done';
      }
      const { failure } = result;
      const delayMs = Math.max(backoffDelayMs(attempt - 1, this.retry, this.random), result.afterMs);
      this.metrics.linesRetried += batch.lines.length;
      this.health.failed(key, failure);
      logEvent('retry', { key, attempt, status: failure.status, cause: failure.cause, reason: failure.reason, delay_ms: Math.round(delayMs) });
      await sleep(delayMs, signal);
    }
  }

  private giveUp(batch: OutgoingBatch, reason: string): void {
    this.metrics.linesRejected += batch.lines.length;
    this.metrics.batchesDropped++;
    logEvent('batch_refused', { key: batchKey(batch), lines: batch.lines.length, reason });
  }

  private async attempt(batch: OutgoingBatch, agent: Agent | undefined, signal: AbortSignal): Promise<Attempt> {
    let response: HttpAnswer;
    const timeout = AbortSignal.timeout(REQUEST_TIMEOUT_MS);
    try {
      const request = this.encoder.encode(batch.labels, batch.lines);
      // Level 1: log lines compress well even so, at half the CPU of the default level. On this
      // thread, so that the encoder's buffer is free again when it returns.
      const body = gzipSync(request.body, { level: constants.Z_BEST_SPEED });
      const url = new URL(request.query, this.endpoint);
      response = await post(url, agent, this.headers(batch, request.contentType), body, AbortSignal.any([signal, timeout]));
    } catch (error) {
      if (signal.aborted) throw error;
      const failure: DeliveryFailure = timeout.aborted
        ? { cause: 'timeout', status: null, reason: `no answer within ${REQUEST_TIMEOUT_MS / 1000} s` }
        : { cause: 'unreachable', status: null, reason: `aggregator unreachable: ${(error as Error).message}` };
      return { outcome: 'failed', failure, afterMs: 0 };
    }
    const answer = parseAnswer(response.text);
    const { status } = response;
    // A 200 is an acknowledgement only in the aggregator's words: a page from something else at
    // DAYLOG_URL (a catch-all route, a login form) would otherwise lose the batch.
    if ((status === 200 && typeof answer.accepted === 'number') || (status === 400 && Array.isArray(answer.rejected))) {
      this.count(batch, answer);
      return { outcome: 'answered' };
    }
    if (status === 413) return { outcome: 'too-large' };
    const retryAfter = response.headers['retry-after'];
    return {
      outcome: 'failed',
      failure: { cause: causeOfStatus(status), status, reason: reasonOf(status, answer, response.text) },
      afterMs: retryAfterMs(typeof retryAfter === 'string' ? retryAfter : null, Date.now()),
    };
  }
  private count(batch: OutgoingBatch, answer: Partial<IngestAnswer>): void {
    const rejected = answer.rejected ?? [];
    this.metrics.linesShipped += answer.duplicate ? batch.lines.length : (answer.accepted ?? 0);
    this.metrics.linesRejected += rejected.length;
    for (const { index, reason } of rejected.slice(0, 5)) {
      logEvent('line_rejected', { key: batchKey(batch), offset: batch.lines[index]?.endOffset, reason });
    }
  }

  private headers(batch: OutgoingBatch, contentType: string): Record<string, string> {
    const headers: Record<string, string> = {
      'Content-Type': contentType,
      'Content-Encoding': 'gzip',
      'Idempotency-Key': batchKey(batch),
    };
    if (this.config.token) headers.Authorization = `Bearer ${this.config.token}`;
    return headers;
  }
}
