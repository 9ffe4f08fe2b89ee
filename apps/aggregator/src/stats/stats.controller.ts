import { Controller, Get, Headers, Param, Query, Req, Res } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { labelValuesToJson, labelValuesToText, statsToJson, statsToText } from './stats-formats';
import { LabelValuesDto, StatsDto, StatsFormat } from './stats.dto';
import { StatsService } from './stats.service';
import { askerOf } from '../query/scan-budgets';

function formatOf(format: StatsFormat | undefined, accept: string | undefined): StatsFormat {
  return format ?? (accept?.includes('application/json') ? 'json' : 'text');
}

function send(reply: FastifyReply, format: StatsFormat, json: () => object, text: () => string): string {
  void reply.header('Content-Type', format === 'json' ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8');
  return format === 'json' ? JSON.stringify(json()) : text();
}

@Controller('api/v1')
@Access('read')
export class StatsController {
  constructor(private readonly statsService: StatsService) {}

  @Get('stats')
  async stats(
    @Query() params: StatsDto,
    @Headers('accept') accept: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
  ): Promise<string> {
    const stats = await this.statsService.stats(params, scope, askerOf(request, reply));
    return send(reply, formatOf(params.format, accept), () => statsToJson(stats), () => statsToText(stats));
  }

  @Get('labels/:label')
  async labelValues(
    @Param('label') label: string,
    @Query() params: LabelValuesDto,
    @Headers('accept') accept: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
  ): Promise<string> {
    const values = await this.statsService.labelValues(label, params, scope, askerOf(request, reply));
    return send(reply, formatOf(params.format, accept), () => labelValuesToJson(values), () => labelValuesToText(values));
  }
}
