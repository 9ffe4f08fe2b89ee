import { Module } from '@nestjs/common';
import { IngestModule } from '../ingest/ingest.module';
import { LokiPushController } from './loki-push.controller';
import { LokiPushService } from './loki-push.service';

/** Loki's push endpoint, so that clients built for Loki ship to Daylog unchanged. */
@Module({ imports: [IngestModule], controllers: [LokiPushController], providers: [LokiPushService] })
export class LokiModule {}
