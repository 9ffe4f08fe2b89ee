import { Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { routeAccess } from '../auth/access';
import { RetentionModule } from '../retention/retention.module';
import { TailModule } from '../tail/tail.module';
import { IngestController } from './ingest.controller';
import { IngestService } from './ingest.service';
import { QueueShares } from './queue-shares';

@Module({ imports: [TailModule, RetentionModule], controllers: [IngestController], providers: [IngestService, QueueShares], exports: [IngestService] })
export class IngestModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly ingestService: IngestService,
  ) {}

  /**
   * While the writer is behind, or the client's share of its queue is full, a batch is refused before its body
   * is read (Nest's guards and pipes run after Fastify has parsed it): senders that keep sending cannot make the
   * service hold their bodies, nor spend its time splitting lines it would refuse.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onRequest', (request, reply, done) => {
      const refusal = request.method === 'POST' && routeAccess(request) === 'ingest' ? this.ingestService.refusalBeforeBody(request.daylogClient) : undefined;
      if (refusal) {
        void reply
          .code(refusal.getStatus())
          .header('Retry-After', String(refusal.retryAfterSeconds))
          .header('Content-Type', 'application/json; charset=utf-8')
          .send(JSON.stringify(refusal.getResponse()));
        return;
      }
      done();
    });
  }
}
