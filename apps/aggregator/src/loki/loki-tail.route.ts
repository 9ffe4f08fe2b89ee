import { HttpException, Inject, Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { DaylogConfig } from '@daylog/config';
import { CompiledSelection, LokiBadRequest, RawParams, TailParams, asksCategorizedLabels, ceilMs, tailParams } from '@daylog/loki';
import { LOG_STORE, LogStore } from '@daylog/storage';
import { AccessKind } from '../auth/access';
import { CLOCK, Clock } from '../clock/clock';
import { DAYLOG_CONFIG } from '../config/config.module';
import { ScanBudgets } from '../query/scan-budgets';
import { TailHub } from '../tail/tail-hub';
import { TailLimits } from '../tail/tail-limits';
import { TailTurns } from '../tail/tail-turns';
import { TAIL_QUEUE_LINES } from '../tail/tail.service';
import { LokiTailStream } from './loki-tail-stream';

export const LOKI_TAIL_PATH = '/loki/api/v1/tail';

/** WebSocket close code for an error on the server's side (RFC 6455), with the sentence as the reason. */
const CLOSE_INTERNAL_ERROR = 1011;
/** WebSocket close code for "try again later" (RFC 6455 registry): the client's or the server's tails are all taken. */
const CLOSE_TRY_AGAIN_LATER = 1013;
/** A close reason is at most 123 bytes. */
const reasonOf = (text: string): string => (Buffer.byteLength(text) <= 123 ? text : `${Buffer.from(text).subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '')}…`);

/**
 * Loki's live tail, `GET /loki/api/v1/tail` upgraded to a WebSocket (Grafana's Explore "Live", `logcli query -t`). A
 * Fastify route of its own, for Nest's controllers answer HTTP only; its token is checked, as every read's, before
 * the upgrade (a 401), and its parameters too (a 400 in plain text).
 */
@Injectable()
export class LokiTailRoute implements OnModuleInit {
  private readonly logger = new Logger('LokiTail');
  private readonly checked = new WeakMap<FastifyRequest, TailParams>();

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(LOG_STORE) private readonly store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly hub: TailHub,
    private readonly limits: TailLimits,
    private readonly turns: TailTurns,
    private readonly budgets: ScanBudgets,
  ) {}

  /** @fastify/websocket is registered by the bootstrap (createAggregator), before Nest's routes. */
  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.route({
      method: 'GET',
      url: LOKI_TAIL_PATH,
      config: { daylogAccess: 'read' satisfies AccessKind },
      preValidation: (request, reply, done) => this.check(request, reply, done),
      wsHandler: (socket, request) => void this.follow(socket, request),
      // Without the upgrade, a client is told what to do rather than given @fastify/websocket's empty 404.
      handler: (_request, reply) =>
        reply
          .code(400)
          .header('Content-Type', 'text/plain; charset=utf-8')
          .send("this is Loki's live tail, a WebSocket: connect with Upgrade: websocket (Grafana's Live, logcli query --tail), or follow /api/v1/tail over HTTP\n"),
    });
  }

  private check(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    try {
      this.checked.set(request, tailParams(request.query as RawParams, this.clock.now()));
      done();
    } catch (error) {
      if (!(error instanceof LokiBadRequest)) throw error;
      void reply.code(400).header('Content-Type', 'text/plain; charset=utf-8').send(`${error.message}\n`);
    }
  }

  private async follow(socket: WebSocket, request: FastifyRequest): Promise<void> {
    const params = this.checked.get(request)!;
    let release: () => void;
    try {
      release = this.limits.reserve(request.daylogClient);
    } catch (error) {
      socket.close(CLOSE_TRY_AGAIN_LATER, reasonOf(error instanceof HttpException ? error.message : String(error)));
      return;
    }
    const namespaces = request.daylogScope ?? undefined;
    const oldestMs = this.clock.now() - this.config.retentionMs;
    const selection = new CompiledSelection(params.selection, Math.max(ceilMs(params.startNs), oldestMs), Number.MAX_SAFE_INTEGER, namespaces);
    const categorize = asksCategorizedLabels(request.headers['x-loki-response-encoding-flags']);
    const stream = new LokiTailStream(socket, selection, categorize, TAIL_QUEUE_LINES, this.turns);
    socket.once('close', () => stream.stop());
    try {
      await this.hub.follow({
        live: stream,
        limit: params.limit,
        newest: async (signal) => {
          const budget = this.budgets.start({ client: request.daylogClient, signal });
          const { lines } = await selection.read({ store: this.store, budget, namespaces }, 'backward', params.limit);
          return lines.map((line) => line.stored).reverse();
        },
        onClose: (listener) => (socket.readyState >= socket.CLOSING ? listener() : socket.once('close', listener)),
        release,
      });
    } catch (error) {
      this.logger.warn(`a live tail failed: ${(error as Error).message}`);
      stream.close(CLOSE_INTERNAL_ERROR, reasonOf(`the tail failed: ${(error as Error).message}`));
    }
  }
}
