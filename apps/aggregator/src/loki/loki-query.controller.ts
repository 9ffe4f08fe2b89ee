import { All, Controller, Get, Headers, HttpCode, NotFoundException, Param, Post, Req, Res } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { asksCategorizedLabels } from '@daylog/loki';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { askerOf } from '../query/scan-budgets';
import { lokiParams as params } from './loki-form-body';
import { LokiQueryService } from './loki-query.service';

/**
 * Loki's query API, read by Grafana's Loki data source and logcli, on GET and on POST with a form body, as Loki
 * takes them. The parameters are passed on as they came: they have Loki's syntax (nanosecond times, `match[]`),
 * which LokiQueryApi reads; errors leave as plain text, as Loki writes them (HttpErrorFilter).
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

  @Post('query_range')
  @HttpCode(200)
  queryRangeForm(
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
    @Headers('x-loki-response-encoding-flags') flags: string | undefined,
  ): Promise<object> {
    return this.queryRange(request, reply, scope, flags);
  }

  @Get('query')
  instant(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.instant(params(request), scope, askerOf(request, reply));
  }

  @Post('query')
  @HttpCode(200)
  instantForm(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.instant(request, reply, scope);
  }

  @Get('labels')
  labels(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.labels(params(request), scope, askerOf(request, reply));
  }

  @Post('labels')
  @HttpCode(200)
  labelsForm(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.labels(request, reply, scope);
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

  @Post('label/:name/values')
  @HttpCode(200)
  labelValuesForm(
    @Param('name') name: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
  ): Promise<object> {
    return this.labelValues(name, request, reply, scope);
  }

  @Get('series')
  series(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.series(params(request), scope, askerOf(request, reply));
  }

  @Post('series')
  @HttpCode(200)
  seriesForm(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.series(request, reply, scope);
  }

  @Get('index/stats')
  indexStats(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.loki.indexStats(params(request), scope, askerOf(request, reply));
  }

  @Post('index/stats')
  @HttpCode(200)
  indexStatsForm(@Req() request: FastifyRequest, @Res({ passthrough: true }) reply: FastifyReply, @Scope() scope: NamespaceScope): Promise<object> {
    return this.indexStats(request, reply, scope);
  }

  @Get('status/buildinfo')
  buildInfo(): object {
    return this.loki.buildInfo();
  }

  /** Any other path under the prefix: Loki's 404, not a 5xx (Grafana probes paths Daylog does not serve). */
  @All('*')
  notServed(@Req() request: FastifyRequest): never {
    throw new NotFoundException({
      error: `${request.method} ${request.url.split('?')[0]} is not served: Daylog answers query, query_range, labels, label/{name}/values, series, index/stats, tail and status/buildinfo under /loki/api/v1/`,
    });
  }
}
