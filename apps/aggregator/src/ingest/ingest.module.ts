import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { routeAccess } from '../auth/access';
import { RetentionModule } from '../retention/retention.module';
import { TailModule } from '../tail/tail.module';
import { IngestController } from './ingest.controller';
import { IngestService, WRITER_BEHIND, WRITER_BEHIND_RETRY_SECONDS } from './ingest.service';

@Module({ imports: [TailModule, RetentionModule], controllers: [IngestController], providers: [IngestService], exports: [IngestService] })
export class IngestModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly ingestService: IngestService,
  ) {}

  /**
   * While the writer is behind, a batch is refused before its body is read (Nest's guards and pipes run
   * after Fastify has parsed it): senders that keep sending cannot make the service hold their bodies.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.method === 'POST' && routeAccess(request) === 'ingest' && this.ingestService.isBehind()) {
        void reply
          .code(503)
          .header('Retry-After', String(WRITER_BEHIND_RETRY_SECONDS))
          .header('Content-Type', 'application/json; charset=utf-8')
          .send(JSON.stringify({ error: WRITER_BEHIND }));
        return;
      }
      done();
    });
  }
}
