import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { DropResult, LOG_STORE, LogStore } from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';
import { AggregatorMetrics } from '../metrics/aggregator-metrics';

/** Drops whole partitions once they end before now − retention; never deletes row by row. */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Retention');
  private timer: NodeJS.Timeout | undefined;

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
    const result = await this.store.dropPartitionsBefore(this.clock.now() - this.config.retentionMs);
    this.metrics.countPrune(result, this.clock.now());
    return result;
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
