import { Inject, Injectable } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { Asking, LokiQueryApi, RawParams } from '@daylog/loki';
import { LOG_STORE, LogStore, QueryBudgetExceeded, QueryCancelled } from '@daylog/storage';
import { NamespaceScope } from '../auth/access';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';
import { AggregatorMetrics } from '../metrics/aggregator-metrics';
import { Asker, ScanBudgets } from '../query/scan-budgets';

/** Loki's query API on the service's store, clock, retention and search budgets. */
@Injectable()
export class LokiQueryService {
  private readonly api: LokiQueryApi;

  constructor(
    @Inject(LOG_STORE) store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly budgets: ScanBudgets,
    private readonly metrics: AggregatorMetrics,
  ) {
    this.api = new LokiQueryApi(store);
  }

  queryRange(params: RawParams, scope: NamespaceScope, asker: Asker, categorize: boolean): Promise<object> {
    return this.counted(this.api.queryRange(params, this.asking(scope, asker), categorize));
  }

  instant(params: RawParams, scope: NamespaceScope, asker: Asker): Promise<object> {
    return this.counted(this.api.instant(params, this.asking(scope, asker)));
  }

  labels(params: RawParams, scope: NamespaceScope, asker: Asker): Promise<object> {
    return this.counted(this.api.labels(params, this.asking(scope, asker)));
  }

  labelValues(name: string, params: RawParams, scope: NamespaceScope, asker: Asker): Promise<object> {
    return this.counted(this.api.labelValues(name, params, this.asking(scope, asker)));
  }

  series(params: RawParams, scope: NamespaceScope, asker: Asker): Promise<object> {
    return this.counted(this.api.series(params, this.asking(scope, asker)));
  }

  indexStats(params: RawParams, scope: NamespaceScope, asker: Asker): Promise<object> {
    return this.counted(this.api.indexStats(params, this.asking(scope, asker)));
  }

  buildInfo(): object {
    return this.api.buildInfo();
  }

  private asking(scope: NamespaceScope, asker: Asker): Asking {
    const nowMs = this.clock.now();
    return { namespaces: scope ?? undefined, nowMs, oldestMs: nowMs - this.config.retentionMs, budget: () => this.budgets.start(asker) };
  }

  /** Searches stopped by their budget or their asker count in the metrics, as those of /api/v1/logs do. */
  private async counted(answer: Promise<object>): Promise<object> {
    try {
      return await answer;
    } catch (error) {
      if (error instanceof QueryBudgetExceeded) this.metrics.countStoppedSearch(error.stop);
      if (error instanceof QueryCancelled) this.metrics.countStoppedSearch('client_gone');
      throw error;
    }
  }
}
