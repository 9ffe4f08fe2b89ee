import { FastifyInstance } from 'fastify';

/** Browsers are not to guess a type from a body: a log line in a text answer must never be read as HTML or script. */
export const NO_SNIFF = { 'X-Content-Type-Options': 'nosniff' } as const;

/** On every answer: the API's, errors and 404s, the rate limiter's and the token check's refusals. */
export function sendNoSniff(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    void reply.headers(NO_SNIFF);
    done(null, payload);
  });
}
