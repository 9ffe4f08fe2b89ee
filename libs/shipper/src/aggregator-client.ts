import { Agent, IncomingHttpHeaders, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { constants, gzipSync } from 'node:zlib';
import { ShipperConfig } from '@daylog/config/shipper';
import { IngestAnswer } from '@daylog/log-model';
import { IngestRequestEncoder, LabelledLine } from './ingest-request';
import { ShipperMetrics, logEvent } from './shipper-metrics';

/** An aggregator that takes a request and never answers is given up on after this, and retried. */
const REQUEST_TIMEOUT_MS = 30_000;

export interface OutgoingLine extends LabelledLine {
  /** Byte offset just past the line in its file. */
  endOffset: number;
}

/** Lines of one file, bytes [start, last line's endOffset): the range names the batch. */
export interface OutgoingBatch {
  identity: string;
  start: number;
  lines: OutgoingLine[];
}

export const batchEnd = (batch: OutgoingBatch): number => batch.lines[batch.lines.length - 1].endOffset;
export const batchKey = (batch: OutgoingBatch): string => `${batch.identity}:${batch.start}-${batchEnd(batch)}`;

export interface RetryPolicy {
  baseMs: number;
  capMs: number;
  /** Attempts for a 4xx other than 408/429 (a wrong token, say) before the batch is given up. */
  clientErrorAttempts: number;
}

export const DEFAULT_RETRY: RetryPolicy = { baseMs: 500, capMs: 30_000, clientErrorAttempts: 3 };

type Attempt = { outcome: 'stored' } | { outcome: 'too-large' } | { outcome: 'refused'; reason: string } | { outcome: 'retry'; afterMs: number; reason: string };

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

/** POSTs batches to the aggregator until each is stored or definitely refused. */
export class AggregatorClient {
  private readonly endpoint: URL;
  private readonly agent: Agent | undefined;
  private readonly encoder = new IngestRequestEncoder();

  constructor(
    private readonly config: ShipperConfig,
    private readonly metrics: ShipperMetrics,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
    private readonly random: () => number = Math.random,
  ) {
    this.endpoint = new URL(`${config.url}/api/v1/logs`);
    this.agent = this.endpoint.protocol === 'http:' ? new Agent({ keepAlive: true, maxSockets: 1 }) : undefined;
  }

  /** Lets go of the kept-alive connection. */
  close(): void {
    this.agent?.destroy();
  }

  /**
   * Resolves once every line is stored or refused for good; calls onAcked after each piece (a 413
   * halves the batch, each half under its own range). Rejects only when the signal aborts.
   */
  async deliver(batch: OutgoingBatch, onAcked: (endOffset: number) => void, signal: AbortSignal): Promise<void> {
    const pieces = [batch];
    while (pieces.length > 0) {
      const piece = pieces.shift()!;
      const outcome = await this.sendUntilDone(piece, signal);
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
  }

  private async sendUntilDone(batch: OutgoingBatch, signal: AbortSignal): Promise<'done' | 'too-large'> {
    for (let attempt = 0, clientErrors = 0; ; attempt++) {
      const result = await this.attempt(batch, signal);
      if (result.outcome === 'stored') return 'done';
      if (result.outcome === 'too-large') {
        if (batch.lines.length > 1) return 'too-large';
        this.giveUp(batch, 'a single line is larger than the aggregator takes');
        return 'done';
      }
      if (result.outcome === 'refused') {
        if (++clientErrors < this.retry.clientErrorAttempts) continue;
        this.giveUp(batch, result.reason);
        return 'done';
      }
      const delayMs = Math.max(backoffDelayMs(attempt, this.retry, this.random), result.afterMs);
      this.metrics.linesRetried += batch.lines.length;
      logEvent('retry', { key: batchKey(batch), attempt: attempt + 1, reason: result.reason, delay_ms: Math.round(delayMs) });
      await sleep(delayMs, signal);
    }
  }

  private giveUp(batch: OutgoingBatch, reason: string): void {
    this.metrics.linesRejected += batch.lines.length;
    this.metrics.batchesDropped++;
    logEvent('batch_refused', { key: batchKey(batch), lines: batch.lines.length, reason });
  }

  private async attempt(batch: OutgoingBatch, signal: AbortSignal): Promise<Attempt> {
    let response: HttpAnswer;
    try {
      const request = this.encoder.encode(this.config.labels, batch.lines);
      // Level 1: log lines compress well even so, at half the CPU of the default level. On this
      // thread, so that the encoder's buffer is free again when it returns.
      const body = gzipSync(request.body, { level: constants.Z_BEST_SPEED });
      const url = new URL(request.query, this.endpoint);
      response = await post(url, this.agent, this.headers(batch, request.contentType), body, AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]));
    } catch (error) {
      if (signal.aborted) throw error;
      return { outcome: 'retry', afterMs: 0, reason: `aggregator unreachable: ${(error as Error).message}` };
    }
    const answer = (() => {
      try {
        return JSON.parse(response.text) as Partial<IngestAnswer> & { error?: string };
      } catch {
        return { error: response.text.slice(0, 200) };
      }
    })();
    const { status } = response;
    if (status === 200 || (status === 400 && Array.isArray(answer.rejected))) {
      this.count(batch, answer);
      return { outcome: 'stored' };
    }
    if (status === 413) return { outcome: 'too-large' };
    if (status === 408 || status === 429 || status >= 500) {
      const retryAfter = response.headers['retry-after'];
      return { outcome: 'retry', afterMs: retryAfterMs(typeof retryAfter === 'string' ? retryAfter : null, Date.now()), reason: `${status} ${answer.error ?? ''}`.trim() };
    }
    return { outcome: 'refused', reason: `${status} ${answer.error ?? ''}`.trim() };
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
