import rateLimit from '@fastify/rate-limit';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DaylogConfig } from '@daylog/config';
import { countsByToken } from '../auth/client-identity';

/** Probes and scrapes are never limited: a busy client must not make a pod look dead. */
const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/** DAYLOG_RATE_LIMIT: requests per client (identifyClients), per second or minute, answered 429 with Retry-After past it. */
export async function registerRateLimit(app: NestFastifyApplication, config: DaylogConfig): Promise<void> {
  const limit = config.rateLimit;
  if (!limit) return;
  const window = limit.windowMs === 1000 ? 'second' : 'minute';
  await app.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: (request) => request.daylogClient,
    allowList: (request) => UNLIMITED.has(request.url.split('?')[0]),
    // An Error with a status, which the app's error filter answers as every other: {"error": "..."}.
    errorResponseBuilder: (request, context) => {
      const who = countsByToken(request)
        ? 'for this token'
        : "from this address (requests without a token this server knows count by address)";
      return Object.assign(new Error(`more than ${context.max} requests a ${window} ${who} (DAYLOG_RATE_LIMIT): retry in ${context.after}`), {
        statusCode: 429,
      });
    },
  });
}
