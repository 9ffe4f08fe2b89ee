import { logEvent } from './log-event';
import type { ShipperMetrics } from './shipper-metrics';

/**
 * Why an attempt failed, as a fixed set of values for the failures counter: each names what to fix.
 * `client_error` is any other 4xx that is not about the lines (405, 415, a 400 without `rejected`);
 * `unexpected_answer` a 2xx or 3xx that is not the aggregator's answer (a redirect, a page from
 * something else at DAYLOG_URL).
 */
export const DELIVERY_FAILURE_CAUSES = [
  'unauthorized',
  'forbidden',
  'not_found',
  'client_error',
  'timeout',
  'throttled',
  'server_error',
  'unavailable',
  'disk_full',
  'unreachable',
  'unexpected_answer',
] as const;
export type DeliveryFailureCause = (typeof DELIVERY_FAILURE_CAUSES)[number];

export interface DeliveryFailure {
  cause: DeliveryFailureCause;
  /** The aggregator's status; null when no answer came. */
  status: number | null;
  /** The status and the aggregator's own words, or what went wrong on the way. */
  reason: string;
}

const CAUSE_OF_STATUS: Record<number, DeliveryFailureCause> = { 401: 'unauthorized', 403: 'forbidden', 404: 'not_found', 408: 'timeout', 429: 'throttled', 503: 'unavailable', 507: 'disk_full' };

export function causeOfStatus(status: number): DeliveryFailureCause {
  if (status < 400) return 'unexpected_answer';
  return CAUSE_OF_STATUS[status] ?? (status >= 500 ? 'server_error' : 'client_error');
}

export type DeliveryStatus = { status: 'ok' } | { status: 'failing'; reason: string; since: string };

/**
 * Whether lines are getting through: failing while the latest attempt of some batch failed for a
 * reason other than its lines (a wrong token or URL, an aggregator down), ok again once each such
 * batch is answered. Restarting the shipper fixes none of these, so this is for people and
 * alerts, not for a liveness probe.
 */
export class DeliveryHealth {
  /** Batches whose latest attempt failed, by key. */
  private readonly failing = new Map<string, DeliveryFailure>();
  private streak: { sinceMs: number; attempts: number; latest: DeliveryFailure } | null = null;

  constructor(
    private readonly metrics: ShipperMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  failed(batchKey: string, failure: DeliveryFailure): void {
    this.metrics.deliveryFailures[failure.cause]++;
    this.metrics.deliveryFailing = 1;
    this.failing.set(batchKey, failure);
    this.streak ??= { sinceMs: this.now(), attempts: 0, latest: failure };
    this.streak.attempts++;
    this.streak.latest = failure;
  }

  /** The aggregator answered this batch about its lines: stored, or refused as lines. */
  answered(batchKey: string): void {
    if (!this.failing.delete(batchKey) || this.failing.size > 0 || !this.streak) return;
    logEvent('delivery_recovered', { failed_for_ms: this.now() - this.streak.sinceMs, failed_attempts: this.streak.attempts });
    this.streak = null;
    this.metrics.deliveryFailing = 0;
  }

  status(): DeliveryStatus {
    if (!this.streak) return { status: 'ok' };
    return { status: 'failing', reason: this.streak.latest.reason, since: new Date(this.streak.sinceMs).toISOString() };
  }
}
