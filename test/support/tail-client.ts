import { once } from 'node:events';
import { ClientRequest, IncomingMessage, OutgoingHttpHeaders, get } from 'node:http';

/** A tail read over real HTTP, its lines collected as they come. */
export class TailClient {
  readonly lines: string[] = [];
  private partial = '';
  private waiters: (() => void)[] = [];
  response!: IncomingMessage;
  readonly request: ClientRequest;
  readonly ended: Promise<void>;

  /** `options`: headers to send (a token), and the local address to connect from (127.0.0.2 is another client). */
  constructor(url: string, options: { headers?: OutgoingHttpHeaders; localAddress?: string } = {}) {
    let ended!: () => void;
    this.ended = new Promise((resolve) => (ended = resolve));
    this.request = get(url, options, (response) => {
      this.response = response;
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        const parts = (this.partial + chunk).split('\n');
        this.partial = parts.pop()!;
        this.lines.push(...parts);
        for (const wake of this.waiters.splice(0)) wake();
      });
      response.on('end', ended);
      response.on('close', ended);
    });
  }

  async opened(): Promise<IncomingMessage> {
    if (!this.response) await once(this.request, 'response');
    return this.response;
  }

  async waitFor(count: number, what = `${count} lines`): Promise<string[]> {
    const deadline = Date.now() + 10_000;
    while (this.lines.length < count) {
      if (Date.now() > deadline) throw new Error(`waited 10 s for ${what}; have ${this.lines.length}:\n${this.lines.slice(-5).join('\n')}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
    return this.lines;
  }
}
