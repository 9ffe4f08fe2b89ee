import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import { COMMITTED_LINES, CursorCodec, LINE_TESTER, LOG_STORE, StorageBackend } from '@daylog/storage';

const STORAGE_BACKEND = Symbol('StorageBackend');

/**
 * The storage opened before the app is made (openStorage): a database that cannot be reached, or a data dir
 * that cannot be read, stops the boot with the one line that says so, not a framework's trace first.
 */
@Global()
@Module({})
export class StorageModule implements OnApplicationShutdown {
  constructor(@Inject(STORAGE_BACKEND) private readonly backend: StorageBackend) {}

  static forBackend(backend: StorageBackend): DynamicModule {
    return {
      module: StorageModule,
      providers: [
        { provide: STORAGE_BACKEND, useValue: backend },
        { provide: LOG_STORE, useValue: backend.store },
        { provide: CursorCodec, useValue: new CursorCodec(backend.cursorKey) },
        { provide: LINE_TESTER, useValue: backend.lineTester },
        { provide: COMMITTED_LINES, useValue: backend.committedLines },
      ],
      exports: [LOG_STORE, CursorCodec, LINE_TESTER, COMMITTED_LINES],
    };
  }

  onApplicationShutdown(): Promise<void> {
    return this.backend.close();
  }
}
