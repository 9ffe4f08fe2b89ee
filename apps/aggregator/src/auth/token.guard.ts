import { CanActivate, ExecutionContext, ForbiddenException, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { FastifyReply } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { DaylogConfig, TokenGrant } from '@daylog/config';
import { DAYLOG_CONFIG } from '../config/config.module';
import { ACCESS_KIND, AccessKind, ScopedRequest } from './access';
import { presentedToken, tokenDigest } from './bearer-token';

/**
 * Compares digests, which have the same length whatever the tokens, in constant time, and goes through
 * every grant whichever matches, so the time taken says nothing about the tokens.
 */
function findGrant(grants: readonly TokenGrant[], presented: Buffer): TokenGrant | undefined {
  let found: TokenGrant | undefined;
  for (const grant of grants) if (timingSafeEqual(tokenDigest(grant.token), presented) && !found) found = grant;
  return found;
}

/** Bearer tokens per kind of route; a kind with no tokens configured is open. */
@Injectable()
export class TokenGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const declared = this.reflector.getAllAndOverride<AccessKind | undefined>(ACCESS_KIND, [context.getHandler(), context.getClass()]) ?? 'open';
    const kind = declared === 'metrics' ? (this.config.metricsNeedToken ? 'read' : 'open') : declared;
    if (kind === 'open') return true;
    const grants = kind === 'ingest' ? this.config.ingestTokens : this.config.readTokens;
    const request = context.switchToHttp().getRequest<ScopedRequest>();
    if (grants === null) {
      request.daylogScope = null;
      return true;
    }
    const presented = presentedToken(request);
    if (presented === undefined) {
      void context.switchToHttp().getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer');
      throw new UnauthorizedException({ error: `this needs a ${kind} token: send Authorization: Bearer <token>` });
    }
    const hash = tokenDigest(presented);
    const grant = findGrant(grants, hash);
    if (grant) {
      request.daylogScope = grant.namespaces;
      return true;
    }
    const other = kind === 'ingest' ? this.config.readTokens : this.config.ingestTokens;
    if (other && findGrant(other, hash)) {
      throw new ForbiddenException({ error: `this token may only ${kind === 'ingest' ? 'read' : 'send lines'}; this needs a ${kind} token` });
    }
    void context.switchToHttp().getResponse<FastifyReply>().header('WWW-Authenticate', 'Bearer error="invalid_token"');
    throw new UnauthorizedException({ error: `the token is not one of this server's ${kind} tokens` });
  }
}
