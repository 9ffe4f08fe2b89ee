import { Inject, Injectable } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { DaylogConfig } from '@daylog/config';
import { ScanBudget } from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';

/** Who a search is for: the client (request.daylogClient) it is shared out to fairly, and whether it has gone. */
export interface Asker {
  client: string;
  signal?: AbortSignal;
}

/** The asker of a request: `signal` is aborted when it closes the connection before its answer is sent, so work done for it can stop. */
export function askerOf(request: FastifyRequest, reply: FastifyReply): Asker {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return { client: request.daylogClient, signal: controller.signal };
}

/** Budgets for searches, from DAYLOG_QUERY_TIMEOUT and DAYLOG_QUERY_MAX_SCANNED_LINES, on the service's clock. */
@Injectable()
export class ScanBudgets {
  constructor(
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** A budget whose time starts now. */
  start({ client, signal }: Asker): ScanBudget {
    return {
      maxScannedLines: this.config.maxScannedLines,
      deadlineMs: this.clock.now() + this.config.queryTimeoutMs,
      timeoutMs: this.config.queryTimeoutMs,
      now: () => this.clock.now(),
      signal,
      client,
    };
  }
}
