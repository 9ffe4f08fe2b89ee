import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { IngestBody } from '../ingest/ingest-body';
import { IngestShare, RequestShare } from '../ingest/queue-shares';
import { LokiPushService } from './loki-push.service';

@Controller('loki/api/v1/push')
@Access('ingest')
export class LokiPushController {
  constructor(private readonly lokiPush: LokiPushService) {}

  @Post()
  @HttpCode(204)
  push(@Body() body: IngestBody | undefined, @Scope() scope: NamespaceScope, @IngestShare() share: RequestShare): Promise<void> {
    return this.lokiPush.push(body, scope, share);
  }
}
