import { Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { COMMITTED_LINES, CommittedLines, CursorCodec, LINE_TESTER, LOG_STORE, LineTester, LogStore, StorageBackend } from '@daylog/storage';
import { DAYLOG_CONFIG } from '../config/config.module';
import { openStorage } from './open-storage';

const STORAGE_BACKEND = Symbol('StorageBackend');

@Global()
@Module({
  providers: [
    { provide: STORAGE_BACKEND, inject: [DAYLOG_CONFIG], useFactory: (config: DaylogConfig): Promise<StorageBackend> => openStorage(config) },
    { provide: LOG_STORE, inject: [STORAGE_BACKEND], useFactory: (backend: StorageBackend): LogStore => backend.store },
    { provide: CursorCodec, inject: [STORAGE_BACKEND], useFactory: (backend: StorageBackend): CursorCodec => new CursorCodec(backend.cursorKey) },
    { provide: LINE_TESTER, inject: [STORAGE_BACKEND], useFactory: (backend: StorageBackend): LineTester => backend.lineTester },
    { provide: COMMITTED_LINES, inject: [STORAGE_BACKEND], useFactory: (backend: StorageBackend): CommittedLines | null => backend.committedLines },
  ],
  exports: [LOG_STORE, CursorCodec, LINE_TESTER, COMMITTED_LINES],
})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(STORAGE_BACKEND) private readonly backend: StorageBackend) {}

  onApplicationShutdown(): Promise<void> {
    return this.backend.close();
  }
}
