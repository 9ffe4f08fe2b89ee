import { DynamicModule, Global, Module } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { CLOCK, Clock } from '../clock/clock';

export const DAYLOG_CONFIG = Symbol('DaylogConfig');

/** The validated settings and the clock, available to every module. */
@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: DaylogConfig, clock: Clock): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: DAYLOG_CONFIG, useValue: config },
        { provide: CLOCK, useValue: clock },
      ],
      exports: [DAYLOG_CONFIG, CLOCK],
    };
  }
}
