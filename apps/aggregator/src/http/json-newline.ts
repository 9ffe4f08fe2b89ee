import { FastifyInstance } from 'fastify';

/**
 * Every JSON answer ends with a newline, as the NDJSON and text ones do, so that after `curl` the shell's
 * prompt starts on a line of its own. Fastify sets Content-Length from the payload after onSend.
 */
export function endJsonWithNewline(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (_request, reply, payload, done) => {
    const type = reply.getHeader('content-type');
    const json = typeof type === 'string' && type.startsWith('application/json');
    done(null, json && typeof payload === 'string' && !payload.endsWith('\n') ? `${payload}\n` : payload);
  });
}
