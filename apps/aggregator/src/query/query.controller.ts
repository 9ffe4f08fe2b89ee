import { Controller, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { CursorCodec, ScanStop, StoredLogLine } from '@daylog/storage';
import { Access, NamespaceScope, Scope } from '../auth/access';
import { Format, LineContextDto, QueryLogsDto } from './query-logs.dto';
import { showStored, toContextTextLine, toNdjsonLines, toTextLine, toWireLines } from './line-formats';
import { QueryService } from './query.service';
import { askerOf } from './scan-budgets';

const CONTENT_TYPES: Record<Format, string> = {
  text: 'text/plain; charset=utf-8',
  ndjson: 'application/x-ndjson; charset=utf-8',
  json: 'application/json; charset=utf-8',
};

function formatFromAccept(accept: string | undefined): Format {
  if (accept?.includes('application/x-ndjson')) return 'ndjson';
  if (accept?.includes('application/json')) return 'json';
  return 'text';
}

/** What a person reading a page that ended early should know, and do. */
const STOPPED_NOTICES: Record<ScanStop, string> = {
  lines: 'this search read as many lines as one page may (DAYLOG_QUERY_MAX_SCANNED_LINES)',
  time: 'this search ran out of time (DAYLOG_QUERY_TIMEOUT)',
};

function stoppedNotice(stopped: ScanStop, nextUrl: string): string {
  return `# ${STOPPED_NOTICES[stopped]} before the page was full; more lines may match. Narrow the range or add label or level filters, or go on: ${nextUrl}\n`;
}

/** The whole URL of the next page; relative when the request's Host cannot make one (HTTP/1.0, say). */
function nextPageUrl(request: FastifyRequest, cursor: string): string {
  const url = new URL(request.url, 'http://host');
  url.searchParams.set('cursor', cursor);
  const relative = `${url.pathname}${url.search}`;
  if (!request.host) return relative;
  try {
    return new URL(relative, `${request.protocol}://${request.host}`).toString();
  } catch {
    return relative;
  }
}

@Controller('api/v1/logs')
@Access('read')
export class QueryController {
  constructor(
    private readonly queryService: QueryService,
    private readonly cursors: CursorCodec,
  ) {}

  @Get()
  async search(
    @Query() params: QueryLogsDto,
    @Headers('accept') accept: string | undefined,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
  ): Promise<string> {
    const { lines, nextCursor, stopped } = await this.queryService.search(params, scope, askerOf(request, reply));
    const format = params.format ?? formatFromAccept(accept);
    void reply.header('Content-Type', CONTENT_TYPES[format]);
    const nextUrl = nextCursor && nextPageUrl(request, nextCursor);
    if (nextCursor) {
      void reply.header('X-Next-Cursor', nextCursor);
      void reply.header('Link', `<${nextUrl}>; rel="next"`);
    }
    if (stopped) void reply.header('X-Search-Stopped', stopped);
    if (format === 'json') return JSON.stringify({ lines: toWireLines(lines, this.cursors), nextCursor, stopped });
    if (format === 'ndjson') return toNdjsonLines(lines, this.cursors);
    const show = showStored(params.raw === 'true');
    return lines.map((l) => toTextLine(l, show)).join('') + (stopped ? stoppedNotice(stopped, nextUrl!) : '');
  }

  @Get('context')
  async context(
    @Query() params: LineContextDto,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
    @Scope() scope: NamespaceScope,
  ): Promise<string> {
    const { before, line, after } = await this.queryService.context(params, scope);
    const format = params.format ?? formatFromAccept(accept);
    void reply.header('Content-Type', CONTENT_TYPES[format]);
    if (format === 'json') {
      const wire = toWireLines([...before, line, ...after], this.cursors);
      return JSON.stringify({ before: wire.slice(0, before.length), line: wire[before.length], after: wire.slice(before.length + 1) });
    }
    if (format === 'ndjson') return toNdjsonLines([...before, line, ...after], this.cursors);
    const show = showStored(params.raw === 'true');
    const text = (l: StoredLogLine) => toContextTextLine(l, l === line, show);
    return [...before, line, ...after].map(text).join('');
  }
}
