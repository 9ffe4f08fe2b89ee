import { FastifyInstance, FastifyRequest } from 'fastify';
import { RawParams } from '@daylog/loki';
import { answersAsLoki } from '../http/http-error.filter';

const FORM = 'application/x-www-form-urlencoded';

/** What Fastify says of a body type no route takes: the error filter answers it with the 415 ingest gives. */
class NotAcceptedMediaType extends Error {
  readonly code = 'FST_ERR_CTP_INVALID_MEDIA_TYPE';
  readonly statusCode = 415;
}

/**
 * Loki's query API takes its parameters as a form body too (`POST /loki/api/v1/query_range`, as Loki's clients may
 * send a long query). Forms are read for those routes alone: elsewhere (ingest) a form is a type not accepted.
 */
export function registerLokiFormBody(fastify: FastifyInstance): void {
  fastify.addContentTypeParser(FORM, { parseAs: 'string' }, (request: FastifyRequest, body: string, done: (error: Error | null, parsed?: RawParams) => void) => {
    if (!answersAsLoki(request)) return done(new NotAcceptedMediaType(`Content-Type "${FORM}" is not accepted`));
    const params: RawParams = {};
    for (const [name, value] of new URLSearchParams(body)) {
      const known = params[name];
      params[name] = known === undefined ? value : [known, value].flat();
    }
    done(null, params);
  });
}

/** A Loki request's parameters: the query string's, and a form body's, as Loki reads both (Go's Request.Form). */
export function lokiParams(request: FastifyRequest): RawParams {
  const params: RawParams = { ...(request.query as RawParams) };
  const form = (request.body ?? {}) as RawParams;
  for (const [name, value] of Object.entries(form)) {
    const known = params[name];
    params[name] = known === undefined ? value : [value ?? [], known].flat();
  }
  return params;
}
