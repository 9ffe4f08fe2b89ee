import rateLimit from '@fastify/rate-limit';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyRequest } from 'fastify';
import { DaylogConfig } from '@daylog/config';
import { presentedToken, tokenDigest } from '../auth/bearer-token';

/** Probes and scrapes are never limited: a busy client must not make a pod look dead. */
const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * Who a request counts against: a token this server knows (by its digest, so no token is kept in
 * memory as text), else its address. A token the server does not know counts as none: each random
 * value would otherwise get a budget of its own, so unlimited requests where no token is set and
 * unlimited guesses of tokens where they are.
 */
function requesterKey(config: DaylogConfig): (request: FastifyRequest) => string {
  const known = new Set([...(config.ingestTokens ?? []), ...(config.readTokens ?? [])].map((grant) => tokenDigest(grant.token).toString('base64url')));
  return (request) => {
    const token = presentedToken(request);
    const digest = token === undefined ? undefined : tokenDigest(token).toString('base64url');
    return digest !== undefined && known.has(digest) ? `token:${digest}` : `address:${request.ip}`;
  };
}

/** DAYLOG_RATE_LIMIT: requests per known token, or per address, per second or minute, answered 429 with Retry-After past it. */
export async function registerRateLimit(app: NestFastifyApplication, config: DaylogConfig): Promise<void> {
  const limit = config.rateLimit;
  if (!limit) return;
  const window = limit.windowMs === 1000 ? 'second' : 'minute';
  const keyOf = requesterKey(config);
  await app.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: keyOf,
    allowList: (request) => UNLIMITED.has(request.url.split('?')[0]),
    // An Error with a status, which the app's error filter answers as every other: {"error": "..."}.
    errorResponseBuilder: (request, context) => {
      const who = keyOf(request).startsWith('token:')
        ? 'for this token'
        : "from this address (requests without a token this server knows count by address)";
      return Object.assign(new Error(`more than ${context.max} requests a ${window} ${who} (DAYLOG_RATE_LIMIT): retry in ${context.after}`), {
        statusCode: 429,
      });
    },
  });
}
