import rateLimit from '@fastify/rate-limit';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { DaylogConfig } from '@daylog/config';

/** Probes and scrapes are never limited: a busy client must not make a pod look dead. */
const UNLIMITED = new Set(['/healthz', '/readyz', '/metrics']);

/** Who a request counts against: its token (hashed, so no token is kept in memory as text), else its address. */
function requester(request: FastifyRequest): string {
  const token = /^Bearer\s+(\S+)/i.exec(request.headers.authorization ?? '')?.[1];
  return token ? `token:${createHash('sha256').update(token).digest('base64url')}` : `address:${request.ip}`;
}

/** DAYLOG_RATE_LIMIT: requests per token per second or minute, answered 429 with Retry-After past it. */
export async function registerRateLimit(app: NestFastifyApplication, config: DaylogConfig): Promise<void> {
  const limit = config.rateLimit;
  if (!limit) return;
  const window = limit.windowMs === 1000 ? 'second' : 'minute';
  await app.register(rateLimit, {
    max: limit.max,
    timeWindow: limit.windowMs,
    keyGenerator: requester,
    allowList: (request) => UNLIMITED.has(request.url.split('?')[0]),
    // An Error with a status, which the app's error filter answers as every other: {"error": "..."}.
    errorResponseBuilder: (_request, context) =>
      Object.assign(new Error(`more than ${context.max} requests a ${window} for this token (DAYLOG_RATE_LIMIT): retry in ${context.after}`), {
        statusCode: 429,
      }),
  });
}
