import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { CursorCodec, LOG_STORE, LogStore, SqliteLogStore } from '@daylog/storage';
import { DAYLOG_CONFIG } from '../config/config.module';

@Global()
@Module({
  providers: [
    {
      provide: CursorCodec,
      inject: [DAYLOG_CONFIG],
      useFactory: (config: DaylogConfig): CursorCodec => CursorCodec.forDataDir(config.dataDir),
    },
    {
      provide: LOG_STORE,
      inject: [DAYLOG_CONFIG],
      useFactory: (config: DaylogConfig): Promise<LogStore> =>
        SqliteLogStore.open({
          dataDir: config.dataDir,
          partitionMs: config.partitionMs,
          synchronous: config.synchronous,
          fullText: config.fullText,
          maxDiskBytes: config.maxDiskBytes,
          maxLabelSetsPerNamespace: config.maxLabelSetsPerNamespace,
        }),
    },
  ],
  exports: [LOG_STORE, CursorCodec],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(LOG_STORE) private readonly store: LogStore) {}

  onApplicationShutdown(): Promise<void> {
    return this.store.close();
  }
}
