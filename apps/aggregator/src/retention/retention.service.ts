import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { DropResult, LOG_STORE, LogStore } from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';
import { AggregatorMetrics } from '../metrics/aggregator-metrics';

/**
 * Drops whole partitions once they end before now − retention; never deletes row by row. On a full
 * disk it drops the oldest partitions ahead of time, for the newest lines are the ones worth keeping.
 * Each run also has the engine make the partitions the next runs' lines will need, where that is not free.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;
  private makingRoom = false;

  constructor(
    @Inject(LOG_STORE) private readonly store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly metrics: AggregatorMetrics,
  ) {}

  onApplicationBootstrap(): void {
    void this.pruneAndLog();
    this.timer = setInterval(() => void this.pruneAndLog(), this.config.pruneIntervalMs);
    this.timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  async prune(): Promise<DropResult> {
    const now = this.clock.now();
    // Two runs ahead: the run after next may come late, and the partition must be there before its first batch.
    await this.store.makePartitionsAhead?.(now, now + 2 * this.config.pruneIntervalMs);
    const result = await this.store.dropPartitionsBefore(now - this.config.retentionMs);
    this.metrics.countPrune(result, this.clock.now());
    return result;
  }

  /**
   * Drops the oldest partition, unless it is the one now's lines go to: ingest then stays refused
   * until that hour is over. Calls while one runs are one call: each refused batch asks.
   */
  makeRoom(): void {
    if (this.makingRoom) return;
    this.makingRoom = true;
    void this.dropOldest().finally(() => (this.makingRoom = false));
  }

  private async dropOldest(): Promise<void> {
    const now = this.clock.now();
    const { oldestPartitionEndMs: oldestEndMs } = await this.store.stats();
    if (oldestEndMs === null || oldestEndMs > now - (now % this.config.partitionMs)) {
      this.logger.warn('the data directory is full and only the current partition is left: ingest is refused until it ends', { maxDiskBytes: this.config.maxDiskBytes });
      return;
    }
    try {
      const result = await this.store.dropPartitionsBefore(oldestEndMs);
      this.metrics.countEarlyPrune(result);
      this.logger.warn('dropped partitions before the retention: the data directory is full', { partitions: result.droppedPartitions, lines: result.droppedLines });
    } catch (error) {
      if (this.store.isReady()) this.logger.error('making room failed', (error as Error).stack);
    }
  }

  private async pruneAndLog(): Promise<void> {
    try {
      const result = await this.prune();
      if (result.droppedPartitions.length > 0) {
        this.logger.log('dropped partitions past the retention', { partitions: result.droppedPartitions, lines: result.droppedLines });
      }
    } catch (error) {
      if (this.store.isReady()) this.logger.error('prune failed', (error as Error).stack);
    }
  }
}
