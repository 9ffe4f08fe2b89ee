import { Module } from '@nestjs/common';
import { TailController } from './tail.controller';
import { TailHub } from './tail-hub';
import { TailLimits } from './tail-limits';
import { TailService } from './tail.service';
import { TailTurns } from './tail-turns';
import { ScanBudgets } from '../query/scan-budgets';

/** Live tails: lines as they are stored, to clients that keep the response open. */
@Module({ controllers: [TailController], providers: [TailHub, TailLimits, TailService, TailTurns, ScanBudgets], exports: [TailHub, TailLimits, TailTurns] })
export class TailModule {}
