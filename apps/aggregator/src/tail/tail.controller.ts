import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import { FastifyReply } from 'fastify';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { NO_SNIFF } from '../http/security-headers';
import { ClientIdentity } from '../auth/client-identity';
import { TailDto, TailFormat } from './tail.dto';
import { TailService } from './tail.service';

const CONTENT_TYPES: Record<TailFormat, string> = {
  text: 'text/plain; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
};

@Controller('api/v1/tail')
@Access('read')
export class TailController {
  constructor(private readonly tailService: TailService) {}

  /** A response that does not end: the reply is taken from Fastify and written as lines are stored. */
  @Get()
  async tail(
    @Query() params: TailDto,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
    @Scope() scope: NamespaceScope,
    @ClientIdentity() client: string,
  ): Promise<void> {
    const format = params.format ?? (accept?.includes('application/x-ndjson') ? 'ndjson' : 'text');
    const follow = this.tailService.prepare(params, format, scope, client);
    reply.hijack();
    // Headers written by hand, past Fastify's hooks: nosniff too.
    reply.raw.writeHead(200, {
      ...NO_SNIFF,
      'Content-Type': CONTENT_TYPES[format],
      'Cache-Control': 'no-cache',
      // Proxies such as nginx would otherwise hold lines back to fill their buffers.
      'X-Accel-Buffering': 'no',
    });
    // The client sees the tail open even before its first line.
    reply.raw.flushHeaders();
    // Headers are gone by now: a tail that cannot go on is cut off, which a client sees as an incomplete response.
    await follow(reply.raw).catch(() => reply.raw.destroy());
  }
}
