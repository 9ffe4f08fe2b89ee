import { ExecutionContext, SetMetadata, createParamDecorator } from '@nestjs/common';
import { FastifyRequest } from 'fastify';

/** What a route needs: an ingest token, a read token, a read token when DAYLOG_METRICS_AUTH=read, or nothing. */
export type AccessKind = 'ingest' | 'read' | 'metrics' | 'open';
export const ACCESS_KIND = 'daylog:access';
export const Access = (kind: AccessKind) => SetMetadata(ACCESS_KIND, kind);

/** The namespaces the request's token is limited to; null when it may see or write every namespace. */
export type NamespaceScope = string[] | null;

export interface ScopedRequest extends FastifyRequest {
  daylogScope?: NamespaceScope;
}

export const Scope = createParamDecorator(
  (_data: unknown, context: ExecutionContext): NamespaceScope => context.switchToHttp().getRequest<ScopedRequest>().daylogScope ?? null,
);
