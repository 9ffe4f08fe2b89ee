import { Writable } from 'node:stream';

/**
 * What one tail writes to its socket. What the socket does not take at once waits in a queue of at most
 * `maxQueuedLines`; past that, lines are dropped and counted, and the client is told how many once it
 * catches up, so a slow reader holds a bounded amount of memory.
 */
export class TailOutput {
  private readonly queue: Buffer[] = [];
  private queuedLines = 0;
  private dropped = 0;
  private waitingForDrain = false;
  private ended = false;

  constructor(
    private readonly out: Writable,
    private readonly ndjson: boolean,
    private readonly maxQueuedLines: number,
  ) {}

  /** A notice in the stream, in its place among the lines (its counts are fields in ndjson). */
  notice(notice: string, counts: Record<string, number>): void {
    this.enqueue(Buffer.from(this.noticeText(notice, counts)), 0);
  }

  end(): void {
    this.ended = true;
    this.out.end();
  }

  enqueue(chunk: Buffer, lines: number): void {
    if (!this.waitingForDrain) {
      this.write(chunk);
    } else if (this.queuedLines + lines > this.maxQueuedLines) {
      this.dropped += lines;
    } else {
      this.queue.push(chunk);
      this.queuedLines += lines;
    }
  }

  private write(chunk: Buffer): void {
    if (this.out.write(chunk)) return;
    this.waitingForDrain = true;
    this.out.once('drain', this.flush);
  }

  private readonly flush = (): void => {
    this.waitingForDrain = false;
    if (this.ended) return;
    const chunks = this.dropped > 0 ? [Buffer.from(this.droppedNotice()), ...this.queue] : [...this.queue];
    this.dropped = 0;
    this.queue.length = 0;
    this.queuedLines = 0;
    if (chunks.length > 0) this.write(Buffer.concat(chunks));
  };

  private droppedNotice(): string {
    return this.noticeText(`${this.dropped} lines dropped: this reader was slower than they arrived`, { dropped: this.dropped });
  }

  private noticeText(notice: string, counts: Record<string, number>): string {
    return this.ndjson ? `${JSON.stringify({ notice, ...counts })}\n` : `# daylog: ${notice}\n`;
  }
}
