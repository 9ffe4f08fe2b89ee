import { Module } from '@nestjs/common';
import { StatsController } from './stats.controller';
import { StatsService } from './stats.service';
import { ScanBudgets } from '../query/scan-budgets';

/** What the stored lines add up to: counts over time, and the label values seen. */
@Module({ controllers: [StatsController], providers: [StatsService, ScanBudgets] })
export class StatsModule {}
