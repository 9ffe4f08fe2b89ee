import { Module } from '@nestjs/common';
import { ScanBudgets } from '../query/scan-budgets';
import { LokiQueryController } from './loki-query.controller';
import { LokiQueryService } from './loki-query.service';

/** Loki's query API, so that Grafana's Loki data source and logcli read Daylog unchanged. */
@Module({ controllers: [LokiQueryController], providers: [LokiQueryService, ScanBudgets] })
export class LokiQueryModule {}
