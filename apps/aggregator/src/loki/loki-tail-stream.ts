import type { WebSocket } from 'ws';
import { CompiledSelection, DroppedEntry, SelectedLine, nsText, streamLabels, tailFrame } from '@daylog/loki';
import { TailLine, TailSubscriber } from '../tail/tail-stream';
import { TailTurns, TurnTaker } from '../tail/tail-turns';

/** How often selected lines go out in one message: Loki's tail sends in batches too. */
const FLUSH_MS = 100;
/** Bytes the socket may hold unsent before new lines are dropped (and told of) rather than queued. */
const MAX_UNSENT_BYTES = 4 * 1024 * 1024;
/** Dropped lines named in one message; more are counted in the reason of none, as a slow reader cannot use them. */
const MAX_DROPPED_LISTED = 1000;
/** Loki pings a tail's client every second, which keeps proxies from closing a quiet tail. */
const PING_MS = 1000;
/** Loki's tail_max_duration: a tail ends after an hour, and Grafana or logcli start it again. */
export const MAX_TAIL_MS = 3_600_000;

/** WebSocket close codes (RFC 6455). */
export const CLOSE_NORMAL = 1000;
const CLOSE_GOING_AWAY = 1001;

/**
 * One Loki live tail on a WebSocket: stored lines wait (at most `maxQueuedLines`) to go through the query's
 * selector and pipeline in TailTurns' turns, as Daylog's own tails do; those selected leave every FLUSH_MS as
 * `{"streams": […]}`. Lines that find the queue or the socket full are dropped and named in `dropped_entries`.
 */
export class LokiTailStream implements TailSubscriber, TurnTaker {
  private readonly waiting: TailLine[] = [];
  private selected: SelectedLine[] = [];
  private dropped: DroppedEntry[] = [];
  private ended = false;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly pingTimer: NodeJS.Timeout;
  private readonly endTimer: NodeJS.Timeout;

  constructor(
    private readonly socket: WebSocket,
    private readonly selection: CompiledSelection,
    private readonly categorize: boolean,
    private readonly maxQueuedLines: number,
    private readonly turns: TailTurns,
  ) {
    this.flushTimer = setInterval(() => this.flush(), FLUSH_MS);
    this.pingTimer = setInterval(() => socket.ping(), PING_MS);
    this.endTimer = setTimeout(() => this.close(CLOSE_NORMAL, 'the tail reached its longest time (1h): start it again'), MAX_TAIL_MS);
  }

  send(lines: readonly TailLine[]): void {
    if (this.ended || lines.length === 0) return;
    for (const line of lines) {
      if (this.waiting.length < this.maxQueuedLines) this.waiting.push(line);
      else this.drop(line);
    }
    this.turns.want(this);
  }

  takeTurn(untilMs: number): boolean {
    while (this.waiting.length > 0 && !this.ended) {
      const line = this.waiting.shift()!;
      const result = this.selection.select(line.line);
      if (result) {
        if (this.socket.bufferedAmount > MAX_UNSENT_BYTES) this.drop(line);
        else this.selected.push({ stored: line.line, result });
      }
      if (performance.now() >= untilMs) break;
    }
    return this.waiting.length > 0 && !this.ended;
  }

  /** The server is closing: the client is told so, and may come back. */
  end(): void {
    this.close(CLOSE_GOING_AWAY, 'Daylog is shutting down: start the tail again');
  }

  close(code: number, reason: string): void {
    if (this.ended) return;
    this.flush();
    this.stop();
    this.socket.close(code, reason);
  }

  /** The client has gone: nothing more is sent. */
  stop(): void {
    this.ended = true;
    this.waiting.length = 0;
    clearInterval(this.flushTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.endTimer);
  }

  private drop(line: TailLine): void {
    if (this.dropped.length < MAX_DROPPED_LISTED) this.dropped.push({ labels: streamLabels(line.line), timestamp: nsText(line.line.ts) });
  }

  private flush(): void {
    if (this.ended || (this.selected.length === 0 && this.dropped.length === 0)) return;
    this.socket.send(tailFrame(this.selected, this.categorize, this.dropped));
    this.selected = [];
    this.dropped = [];
  }
}
