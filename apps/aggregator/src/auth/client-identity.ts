import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import { FastifyInstance, FastifyRequest } from 'fastify';
import { DaylogConfig } from '@daylog/config';
import { presentedToken, tokenDigest } from './bearer-token';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who the per-client limits count this request against: see identifyClients. */
    readonly daylogClient: string;
  }
}

const BY_TOKEN = 'token:';
const BY_ADDRESS = 'address:';

/**
 * Who a request counts against, in DAYLOG_RATE_LIMIT and in DAYLOG_MAX_TAILS_PER_CLIENT alike: a token this
 * server knows, ingest or read, by its digest (so no token is kept in memory as text), from whichever address
 * it comes; else the address it came from. A bearer value the server does not know must never be an identity
 * of its own: each random value would get fresh budgets, so unlimited requests and tails where no token is
 * set, and unlimited guesses of tokens where they are. Decided from the request alone, whatever its route:
 * the rate limit counts a request before its route's token is checked and before its body is read.
 */
export function identifyClients(fastify: FastifyInstance, config: DaylogConfig): void {
  const known = new Set([...(config.ingestTokens ?? []), ...(config.readTokens ?? [])].map((grant) => tokenDigest(grant.token).toString('base64url')));
  fastify.decorateRequest('daylogClient', {
    getter(this: FastifyRequest): string {
      const token = presentedToken(this);
      const digest = token === undefined ? undefined : tokenDigest(token).toString('base64url');
      return digest !== undefined && known.has(digest) ? `${BY_TOKEN}${digest}` : `${BY_ADDRESS}${this.ip}`;
    },
  });
}

/** Whether the request counts against a token rather than an address. */
export function countsByToken(request: FastifyRequest): boolean {
  return request.daylogClient.startsWith(BY_TOKEN);
}

export const ClientIdentity = createParamDecorator(
  (_data: unknown, context: ExecutionContext): string => context.switchToHttp().getRequest<FastifyRequest>().daylogClient,
);
