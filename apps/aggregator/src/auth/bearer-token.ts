import { FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';

/** The token of `Authorization: Bearer <token>`, or undefined when the header is absent or not of that form. */
export function presentedToken(request: FastifyRequest): string | undefined {
  return /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
}

/** What tokens are compared and remembered by: never the token itself. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
