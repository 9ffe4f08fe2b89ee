import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { bombs } from '../test/support/bombs';
import { nowMs, percentile } from './bench-support';
import { send } from './http-client';

/** The `error` of a JSON answer's body, or '' when it has none. */
function errorOf(body: string): string {
  try {
    const { error } = JSON.parse(body) as { error?: unknown };
    return typeof error === 'string' ? error : '';
  } catch {
    return '';
  }
}

/** A bomb every this often: rare enough to leave the senders' rate alone, often enough to meet every kind. */
const BOMB_EVERY_MS = 5_000;

/**
 * Now and then a small gzip body that would become millions of lines or objects, each kind in turn, on its
 * own connection, with a tenant's token: each must be refused with its 413 while the senders' lines go on being stored.
 */
export class Bomber {
  private readonly kinds = bombs();
  private readonly statuses = new Map<string, number>();
  private readonly answeredMs: number[] = [];
  /** Bombs answered otherwise than with their 413, said in a line each. */
  readonly wrong: string[] = [];

  constructor(
    private readonly port: number,
    private readonly tokenHeaders: http.OutgoingHttpHeaders,
  ) {}

  async run(endAt: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let i = 0; Date.now() + BOMB_EVERY_MS < endAt; i++) {
      await sleep(BOMB_EVERY_MS);
      const bomb = this.kinds[i % this.kinds.length];
      const t0 = nowMs();
      let status: string;
      let body = '';
      try {
        const headers = { ...this.tokenHeaders, 'content-type': bomb.contentType, 'content-encoding': 'gzip' };
        const answer = await send(agent, this.port, 'POST', bomb.path, bomb.body, headers);
        this.answeredMs.push(nowMs() - t0);
        status = String(answer.status);
        body = answer.body;
      } catch (failure) {
        status = `network (${(failure as Error).message})`;
      }
      this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
      if (status !== '413' || !bomb.error.test(errorOf(body))) this.wrong.push(`${bomb.name}: ${status} ${body.slice(0, 200)}`);
    }
    agent.destroy();
  }

  summary(): string {
    const sizes = this.kinds.map((bomb) => bomb.body.length);
    const answers = [...this.statuses].map(([status, n]) => `${status}: ${n}`).join(', ') || 'none sent';
    const timing = this.answeredMs.length === 0 ? '' : `; answered p50 ${percentile(this.answeredMs, 50).toFixed(1)} ms, max ${Math.max(...this.answeredMs).toFixed(1)} ms`;
    return `bombs (${this.kinds.length} kinds in turn, ${Math.min(...sizes)}–${Math.max(...sizes)} B of gzip each): ${answers}${timing}`;
  }
}
