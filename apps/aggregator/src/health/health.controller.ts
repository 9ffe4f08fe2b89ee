import { Controller, Get, Inject, ServiceUnavailableException } from '@nestjs/common';
import { LOG_STORE, LogStore } from '@daylog/storage';

@Controller()
export class HealthController {
  constructor(@Inject(LOG_STORE) private readonly store: LogStore) {}

  @Get('healthz')
  alive(): { status: string } {
    return { status: 'ok' };
  }

  @Get('readyz')
  ready(): { status: string } {
    if (!this.store.isReady()) throw new ServiceUnavailableException({ error: 'storage is not ready: closed, or its database cannot be reached' });
    return { status: 'ready' };
  }
}
