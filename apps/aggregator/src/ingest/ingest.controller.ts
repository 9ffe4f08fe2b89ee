import { Body, Controller, Headers, HttpCode, Post, Query } from '@nestjs/common';
import { IngestAnswer } from '@daylog/log-model';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { ClientIdentity } from '../auth/client-identity';
import { IngestBody } from './ingest-body';
import { IngestQueryDto } from './ingest-query.dto';
import { IngestService } from './ingest.service';

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
    @ClientIdentity() client: string,
    @Headers('idempotency-key') idempotencyKey?: string,
  ): Promise<IngestAnswer> {
    return this.ingestService.ingest(body, query, idempotencyKey, scope, client);
  }
}
