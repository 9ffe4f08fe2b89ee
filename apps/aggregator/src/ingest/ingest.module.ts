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
    private readonly shares: QueueShares,
  ) {}

  /**
   * While the writer is behind, or the client's share of its queue is full, a batch is refused before its body
   * is read (Nest's guards and pipes run after Fastify has parsed it): senders that keep sending cannot make the
   * service hold their bodies, nor spend its time splitting lines it would refuse. Else the request gets its hold
   * on the share, which the body parsers fill once they have counted its lines, and which is given back when it ends.
   */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.decorateRequest('daylogShare', null);
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.method !== 'POST' || routeAccess(request) !== 'ingest') return done();
      const refusal = this.ingestService.refusalBeforeBody(request.daylogClient);
      if (refusal) {
        void reply
          .code(refusal.getStatus())
          .header('Retry-After', String(refusal.retryAfterSeconds))
          .header('Content-Type', 'application/json; charset=utf-8')
          .send(JSON.stringify(refusal.getResponse()));
        return;
      }
      request.daylogShare = this.shares.forRequest(request.daylogClient, reply.raw);
      done();
    });
  }
}
