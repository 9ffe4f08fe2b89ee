import { Inject, Injectable } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { DaylogConfig } from '@daylog/config';
import { ScanBudget } from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';

/** Aborted when the client closes the connection before its answer is sent: work done for it can stop. */
export function clientGoneSignal(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  return controller.signal;
}

/** Budgets for searches, from DAYLOG_QUERY_TIMEOUT and DAYLOG_QUERY_MAX_SCANNED_LINES, on the service's clock. */
@Injectable()
export class ScanBudgets {
  constructor(
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** A budget whose time starts now. */
  start(signal?: AbortSignal): ScanBudget {
    return {
      maxScannedLines: this.config.maxScannedLines,
      deadlineMs: this.clock.now() + this.config.queryTimeoutMs,
      timeoutMs: this.config.queryTimeoutMs,
      now: () => this.clock.now(),
      signal,
    };
  }
}
