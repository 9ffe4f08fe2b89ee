import { ForbiddenException, UnauthorizedException } from '@nestjs/common';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { DaylogConfig, TokenGrant } from '@daylog/config';
import { discardUnreadBody } from '../http/unread-body';
import { AccessKind, NamespaceScope, routeAccess } from './access';
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

/**
 * What the request's token may see or write on a route of this kind, or the 401 or 403 that refuses it.
 * Bearer tokens per kind of route; a kind with no tokens configured is open to every namespace.
 */
export function grantedScope(access: AccessKind, request: FastifyRequest, reply: FastifyReply, config: DaylogConfig): NamespaceScope {
  const kind = access === 'metrics' ? (config.metricsNeedToken ? 'read' : 'open') : access;
  if (kind === 'open') return null;
  const grants = kind === 'ingest' ? config.ingestTokens : config.readTokens;
  if (grants === null) return null;
  const presented = presentedToken(request);
  if (presented === undefined) {
    void reply.header('WWW-Authenticate', 'Bearer');
    throw new UnauthorizedException({ error: `this needs a ${kind} token: send Authorization: Bearer <token>` });
  }
  const hash = tokenDigest(presented);
  const grant = findGrant(grants, hash);
  if (grant) return grant.namespaces;
  const other = kind === 'ingest' ? config.readTokens : config.ingestTokens;
  if (other && findGrant(other, hash)) {
    throw new ForbiddenException({ error: `this token may only ${kind === 'ingest' ? 'read' : 'send lines'}; this needs a ${kind} token` });
  }
  void reply.header('WWW-Authenticate', 'Bearer error="invalid_token"');
  throw new UnauthorizedException({ error: `the token is not one of this server's ${kind} tokens` });
}

/**
 * Every route's token is checked as its body is about to be read: after the rate limit has counted the request
 * (its hooks run on request), and before the body parsers' own hook starts inflating. A refused request's body
 * is never inflated nor parsed, so sending gzip bombs or broken JSON without a token costs the server nothing
 * but the bytes. Register it before the body parsers.
 */
export function checkTokensBeforeBody(fastify: FastifyInstance, config: DaylogConfig): void {
  fastify.decorateRequest('daylogScope', null);
  fastify.addHook('preParsing', (request, reply, payload, done) => {
    try {
      request.daylogScope = grantedScope(routeAccess(request), request, reply, config);
    } catch (refusal) {
      discardUnreadBody(request, reply, config.maxBodyBytes);
      return done(refusal as Error);
    }
    done(null, payload);
  });
}
