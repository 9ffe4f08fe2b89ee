import { Module } from '@nestjs/common';
import { ScanBudgets } from '../query/scan-budgets';
import { TailModule } from '../tail/tail.module';
import { LokiQueryController } from './loki-query.controller';
import { LokiQueryService } from './loki-query.service';
import { LokiTailRoute } from './loki-tail.route';

/** Loki's query API and live tail, so that Grafana's Loki data source and logcli read Daylog unchanged. */
@Module({ imports: [TailModule], controllers: [LokiQueryController], providers: [LokiQueryService, LokiTailRoute, ScanBudgets] })
export class LokiQueryModule {}
