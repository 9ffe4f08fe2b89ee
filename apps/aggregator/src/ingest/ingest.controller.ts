import { Body, Controller, Headers, HttpCode, Post, Query } from '@nestjs/common';
import { IngestAnswer } from '@daylog/log-model';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { IngestBody } from './ingest-body';
import { IngestQueryDto } from './ingest-query.dto';
import { IngestService } from './ingest.service';
import { IngestShare, RequestShare } from './queue-shares';

@Controller('api/v1/logs')
@Access('ingest')
export class IngestController {
  constructor(private readonly ingestService: IngestService) {}

  @Post()
  @HttpCode(200)
  ingest(
    @Body() body: IngestBody | undefined,
    @Query() query: IngestQueryDto,
    @Scope() scope: NamespaceScope,
    @IngestShare() share: RequestShare,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<IngestAnswer> {
    return this.ingestService.ingest(body, query, idempotencyKey, scope, share);
  }
}
