import { All, Controller, Get, Headers, NotFoundException, Param, Req, Res } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { RawParams, asksCategorizedLabels } from '@daylog/loki';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { askerOf } from '../query/scan-budgets';
import { LokiQueryService } from './loki-query.service';

const params = (request: FastifyRequest): RawParams => request.query as RawParams;

/**
 * Loki's query API, read by Grafana's Loki data source and logcli. The query string is passed on as it came: Loki's
 * parameters have Loki's syntax (nanosecond times, `match[]`), which LokiQueryApi reads; errors leave as plain
 * text, as Loki writes them (HttpErrorFilter).
 */
@Controller('loki/api/v1')
@Access('read')
export class LokiQueryController {
  constructor(private readonly loki: LokiQueryService) {}

  @Get('query_range')
  queryRange(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
    @Headers('x-loki-response-encoding-flags') flags: string | undefined,
  ): Promise<object> {
    return this.loki.queryRange(params(request), scope, askerOf(request, reply), asksCategorizedLabels(flags));
  }

  @Get('query')
  instant(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.instant(params(request), scope, askerOf(request, reply));
  }

  @Get('labels')
  labels(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.labels(params(request), scope, askerOf(request, reply));
  }

  @Get('label/:name/values')
  labelValues(
    @Param('name') name: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
  ): Promise<object> {
    return this.loki.labelValues(name, params(request), scope, askerOf(request, reply));
  }

  @Get('series')
  series(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.series(params(request), scope, askerOf(request, reply));
  }

  @Get('index/stats')
  indexStats(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.indexStats(params(request), scope, askerOf(request, reply));
  }

  @Get('status/buildinfo')
  buildInfo(): object {
    return this.loki.buildInfo();
  }

  /** Any other path under the prefix: Loki's 404, not a 5xx (Grafana probes paths Daylog does not serve). */
  @All('*')
  notServed(@Req() request: FastifyRequest): never {
    throw new NotFoundException({ error: `${request.method} ${request.url.split('?')[0]} is not served: Daylog answers query, query_range, labels, label/{name}/values, series, index/stats, tail and status/buildinfo under /loki/api/v1/` });
  }
}
