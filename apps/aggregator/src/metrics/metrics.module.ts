import { Global, Module, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance } from 'fastify';
import { AggregatorMetrics } from './aggregator-metrics';
import { MetricsController } from './metrics.controller';

/** Requests that match no route share one label, so probing for paths cannot grow the series without bound. */
const UNMATCHED_ROUTE = 'unmatched';

@Global()
@Module({
  controllers: [MetricsController],
  providers: [AggregatorMetrics],
  exports: [AggregatorMetrics],
})
export class MetricsModule implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    private readonly metrics: AggregatorMetrics,
  ) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? UNMATCHED_ROUTE;
      this.metrics.observeRequest(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }
}
