import { ExecutionContext, createParamDecorator } from '@nestjs/common';
import { RouteConfig } from '@nestjs/platform-fastify';
import { FastifyRequest } from 'fastify';

/** What a route needs: an ingest token, a read token, a read token when DAYLOG_METRICS_AUTH=read, or nothing. */
export type AccessKind = 'ingest' | 'read' | 'metrics' | 'open';

/** A route's Fastify config, where its access kind is read before the body is (see checkTokensBeforeBody). */
interface AccessConfig {
  daylogAccess?: AccessKind;
}

/**
 * What every route of a controller needs. Said in each route's Fastify config rather than as Nest metadata for a
 * guard: a guard runs only once the body has been read, inflated and parsed, which a request without a token
 * must not be able to make the server do.
 */
export function Access(kind: AccessKind): ClassDecorator {
  return (controller) => {
    const prototype = controller.prototype as object;
    for (const name of Object.getOwnPropertyNames(prototype)) {
      const descriptor = Object.getOwnPropertyDescriptor(prototype, name)!;
      if (name !== 'constructor' && typeof descriptor.value === 'function') {
        RouteConfig({ daylogAccess: kind } satisfies AccessConfig)(prototype, name, descriptor);
      }
    }
  };
}

/** What the request's route needs; a route that says nothing (health, an unknown path) is open. */
export function routeAccess(request: FastifyRequest): AccessKind {
  return (request.routeOptions.config as AccessConfig).daylogAccess ?? 'open';
}

/** The namespaces the request's token is limited to; null when it may see or write every namespace. */
export type NamespaceScope = string[] | null;

declare module 'fastify' {
  interface FastifyRequest {
    /** What the request's token may see or write: see checkTokensBeforeBody. */
    daylogScope: NamespaceScope;
  }
}

export const Scope = createParamDecorator(
  (_data: unknown, context: ExecutionContext): NamespaceScope => context.switchToHttp().getRequest<FastifyRequest>().daylogScope,
);
