import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { REJECTION_CAUSES, RejectionCause } from '@daylog/log-model';
import { DropResult, LOG_STORE, LogStore } from '@daylog/storage';

const SEARCH_STOPS = ['lines', 'time', 'client_gone'] as const;
export type SearchStop = (typeof SEARCH_STOPS)[number];

/** Daylog's own figures for Prometheus, on a registry of its own so two apps in one process do not share counters. */
@Injectable()
export class AggregatorMetrics {
  readonly registry = new Registry();

  private readonly linesAccepted = new Counter({
    name: 'daylog_lines_accepted_total',
    help: 'Lines stored by ingest.',
    registers: [this.registry],
  });

  private readonly linesRejected = new Counter({
    name: 'daylog_lines_rejected_total',
    help: 'Lines refused by ingest, by cause.',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  private readonly duplicateBatches = new Counter({
    name: 'daylog_duplicate_batches_total',
    help: 'Batches whose Idempotency-Key had been stored before, answered without storing them again.',
    registers: [this.registry],
  });

  private readonly requestDuration = new Histogram({
    name: 'daylog_http_request_duration_seconds',
    help: 'Time from request to response, by method, route pattern and status.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  private readonly pruneLastRun = new Gauge({
    name: 'daylog_prune_last_run_timestamp_seconds',
    help: 'When the pruner last finished a run (Unix time).',
    registers: [this.registry],
  });

  private readonly prunedLines = new Counter({
    name: 'daylog_pruned_lines_total',
    help: 'Lines dropped with their partitions once older than the retention.',
    registers: [this.registry],
  });

  private readonly prunedPartitions = new Counter({
    name: 'daylog_pruned_partitions_total',
    help: 'Partitions dropped once older than the retention.',
    registers: [this.registry],
  });

  private readonly diskFull = new Counter({
    name: 'daylog_ingest_disk_full_total',
    help: 'Batches refused (507) because the data directory was full (the disk, or DAYLOG_MAX_DISK).',
    registers: [this.registry],
  });

  private readonly prunedEarly = new Counter({
    name: 'daylog_pruned_early_partitions_total',
    help: 'Partitions dropped before the retention to make room on a full disk.',
    registers: [this.registry],
  });

  private readonly searchesStopped = new Counter({
    name: 'daylog_searches_stopped_total',
    help: 'Searches ended early: by DAYLOG_QUERY_MAX_SCANNED_LINES (lines), DAYLOG_QUERY_TIMEOUT (time), or because the client went away (client_gone).',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  constructor(@Inject(LOG_STORE) store: LogStore) {
    for (const cause of REJECTION_CAUSES) this.linesRejected.labels(cause).inc(0);
    for (const reason of SEARCH_STOPS) this.searchesStopped.labels(reason).inc(0);
    new Gauge({
      name: 'daylog_partitions',
      help: 'Partitions on disk.',
      registers: [this.registry],
      async collect() {
        if (store.isReady()) this.set((await store.stats()).partitions);
      },
    });
    new Gauge({
      name: 'daylog_storage_bytes',
      help: 'Bytes taken by the data directory: partitions, their write-ahead logs and the catalogue.',
      registers: [this.registry],
      async collect() {
        if (store.isReady()) this.set((await store.stats()).bytes);
      },
    });
    new Gauge({
      name: 'daylog_ingest_queued_lines',
      help: 'Lines accepted but not yet committed; ingest answers 503 past DAYLOG_MAX_QUEUED_LINES.',
      registers: [this.registry],
      collect() {
        this.set(store.queuedLines());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  countIngest(accepted: number, rejected: readonly RejectionCause[]): void {
    this.linesAccepted.inc(accepted);
    for (const cause of rejected) this.linesRejected.labels(cause).inc();
  }

  countStoppedSearch(reason: SearchStop): void {
    this.searchesStopped.labels(reason).inc();
  }

  countDiskFull(): void {
    this.diskFull.inc();
  }

  countEarlyPrune(result: DropResult): void {
    this.prunedEarly.inc(result.droppedPartitions.length);
    this.prunedLines.inc(result.droppedLines);
    this.prunedPartitions.inc(result.droppedPartitions.length);
  }

  countDuplicateBatch(): void {
    this.duplicateBatches.inc();
  }

  countPrune(result: DropResult, finishedMs: number): void {
    this.prunedLines.inc(result.droppedLines);
    this.prunedPartitions.inc(result.droppedPartitions.length);
    this.pruneLastRun.set(finishedMs / 1000);
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requestDuration.labels(method, route, String(status)).observe(seconds);
  }
}
