import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { CursorCodec, LOG_STORE, LogStore, SearchThreads, SqliteLogStore } from '@daylog/storage';
import { DAYLOG_CONFIG } from '../config/config.module';

@Global()
@Module({
  providers: [
    {
      provide: CursorCodec,
      inject: [DAYLOG_CONFIG],
      useFactory: (config: DaylogConfig): CursorCodec => CursorCodec.forDataDir(config.dataDir),
    },
    { provide: SearchThreads, useFactory: (): SearchThreads => new SearchThreads() },
    {
      provide: LOG_STORE,
      inject: [DAYLOG_CONFIG, SearchThreads],
      useFactory: (config: DaylogConfig, searchThreads: SearchThreads): Promise<LogStore> =>
        SqliteLogStore.open({
          dataDir: config.dataDir,
          partitionMs: config.partitionMs,
          synchronous: config.synchronous,
          fullText: config.fullText,
          maxDiskBytes: config.maxDiskBytes,
          maxLabelSetsPerNamespace: config.maxLabelSetsPerNamespace,
          searchThreads,
        }),
    },
  ],
  exports: [LOG_STORE, CursorCodec, SearchThreads],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(
    @Inject(LOG_STORE) private readonly store: LogStore,
    private readonly searchThreads: SearchThreads,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
    await this.searchThreads.stop();
  }
}
