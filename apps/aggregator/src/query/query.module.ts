import { Module } from '@nestjs/common';
import { QueryController } from './query.controller';
import { QueryService } from './query.service';
import { ScanBudgets } from './scan-budgets';

@Module({ controllers: [QueryController], providers: [QueryService, ScanBudgets] })
export class QueryModule {}
