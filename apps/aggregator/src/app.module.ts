import { DynamicModule, Module } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { StorageBackend } from '@daylog/storage';
import { Clock } from './clock/clock';
import { ConfigModule } from './config/config.module';
import { HealthModule } from './health/health.module';
import { IngestModule } from './ingest/ingest.module';
import { LokiModule } from './loki/loki.module';
import { LokiQueryModule } from './loki/loki-query.module';
import { MetricsModule } from './metrics/metrics.module';
import { QueryModule } from './query/query.module';
import { RetentionModule } from './retention/retention.module';
import { StatsModule } from './stats/stats.module';
import { StorageModule } from './storage/storage.module';
import { TailModule } from './tail/tail.module';

@Module({})
export class AppModule {
  static register(config: DaylogConfig, clock: Clock, storage: StorageBackend): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config, clock),
        StorageModule.forBackend(storage),
        MetricsModule,
        IngestModule,
        LokiModule,
        LokiQueryModule,
        QueryModule,
        StatsModule,
        TailModule,
        RetentionModule,
        HealthModule,
      ],
    };
  }
}
