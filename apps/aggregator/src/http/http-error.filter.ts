import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import { FastifyReply, FastifyRequest } from 'fastify';
import { LokiBadRequest } from '@daylog/loki';
import { QueryBudgetExceeded, QueryCancelled, StorageUnavailable } from '@daylog/storage';
import { bodyTooLarge } from '../ingest/request-limits';
import { RetryLaterException } from './retry-later.exception';

interface FastifyError {
  statusCode?: number;
  code?: string;
  message: string;
  /** Where in the body parsing stopped, for a body that is not valid JSON. */
  at?: number;
}

const CLIENT_CLOSED_REQUEST = 499;
/** The database answers again within a few of its probes (two seconds apart) once it is back. */
const DATABASE_RETRY_SECONDS = 5;

/**
 * Loki's query API answers errors as Loki does, the sentence alone in plain text, which Grafana and logcli show as
 * they get it. Its push keeps Daylog's JSON errors, which Loki's shippers log as they get them too.
 */
export function answersAsLoki(request: FastifyRequest): boolean {
  return request.url.startsWith('/loki/api/v1/') && !request.url.startsWith('/loki/api/v1/push');
}

/**
 * Every error but Loki's query API's leaves as `{"error": "..."}` with a sentence a person can act on: Nest's exceptions,
 * Fastify's own (body too large, unknown content type) and anything unexpected, which is logged
 * with its request and answered without internals.
 */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly maxBodyBytes: number) {}

  catch(thrown: unknown, host: ArgumentsHost): void {
    // Whatever the request was, nothing of it was done: the client tries again, as when the writer is behind.
    const exception = thrown instanceof StorageUnavailable ? new RetryLaterException('the database cannot be reached: retry in a few seconds', DATABASE_RETRY_SECONDS) : thrown;
    const request = host.switchToHttp().getRequest<FastifyRequest>();
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const [status, body] = this.describe(exception, request);
    if (exception instanceof RetryLaterException) reply.header('Retry-After', String(exception.retryAfterSeconds));
    const foreseen = exception instanceof HttpException || exception instanceof QueryBudgetExceeded || exception instanceof QueryCancelled;
    if (status >= 500 && !foreseen) {
      this.logger.error(`${request.method} ${request.url} failed`, { method: request.method, url: request.url }, (exception as Error).stack ?? String(exception));
    }
    // Headers a handler set before it failed (a page's cursor, a text content type) do not belong to the error.
    for (const header of ['X-Next-Cursor', 'Link', 'X-Search-Stopped']) reply.removeHeader(header);
    if (answersAsLoki(request)) {
      void reply.status(status).header('Content-Type', 'text/plain; charset=utf-8').send(`${(body as { error: string }).error}\n`);
      return;
    }
    void reply.status(status).header('Content-Type', 'application/json; charset=utf-8').send(body);
  }

  /** Nest wraps Fastify's 4xx errors in an HttpException; the original, with its code, is the cause. */
  private describe(exception: unknown, request: FastifyRequest): [number, object] {
    const fastifyError = (exception instanceof HttpException ? exception.cause : exception) as FastifyError | undefined;
    switch (fastifyError?.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE':
        return [413, { error: bodyTooLarge(this.maxBodyBytes) }];
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return [415, { error: `Content-Type ${JSON.stringify(request.headers['content-type'] ?? '')} is not accepted: use application/json, application/x-ndjson or text/plain` }];
      case 'Z_DATA_ERROR':
      case 'Z_BUF_ERROR':
        return [400, { error: 'the body is not valid gzip' }];
    }
    if (exception instanceof LokiBadRequest) return [400, { error: exception.message }];
    if (exception instanceof QueryBudgetExceeded) {
      // Too many lines is the question's size; running out of time may be the server's load as well.
      return [exception.stop === 'lines' ? 400 : 503, { error: `${exception.message}: narrow the time range, or add label or level filters` }];
    }
    // Nobody reads this answer; the status says so in the request log (nginx's "client closed request").
    if (exception instanceof QueryCancelled) return [CLIENT_CLOSED_REQUEST, { error: exception.message }];
    if (typeof fastifyError?.at === 'number') return [400, { error: fastifyError.message, at: fastifyError.at }];
    if (!(exception instanceof HttpException) && fastifyError?.statusCode && fastifyError.statusCode < 500) {
      return [fastifyError.statusCode, { error: fastifyError.message }];
    }
    if (exception instanceof HttpException) {
      // Our own exceptions carry a body with `error`; Nest's built-in ones (404 for an unknown route)
      // carry `statusCode` and `message`, which become the one sentence.
      const response = exception.getResponse();
      const ours = typeof response === 'object' && 'error' in response && !('statusCode' in response);
      return [exception.getStatus(), ours ? response : { error: exception.message }];
    }
    return [500, { error: 'internal error; the server log has the details' }];
  }
}
