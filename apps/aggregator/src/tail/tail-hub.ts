import { Injectable, OnModuleDestroy } from '@nestjs/common';
import { CursorCodec, StoredLogLine } from '@daylog/storage';
import { SharedWork, TailLine, TailSubscriber } from './tail-stream';

/** The open tails; ingest hands it every batch it stores while there is one, and each tail tests it later (TailTurns). */
@Injectable()
export class TailHub implements OnModuleDestroy {
  private readonly streams = new Set<TailSubscriber>();
  private closing = false;

  constructor(private readonly cursors: CursorCodec) {}

  hasTails(): boolean {
    return this.streams.size > 0;
  }

  add(stream: TailSubscriber): void {
    if (this.closing) stream.end();
    else this.streams.add(stream);
  }

  remove(stream: TailSubscriber): void {
    this.streams.delete(stream);
  }

  publish(lines: readonly StoredLogLine[]): void {
    if (lines.length === 0) return;
    const shared = lines.map((line) => new TailLine(line, this.cursors));
    const work = new SharedWork();
    for (const stream of this.streams) stream.send(shared, work);
  }

  /** Tails never end by themselves: they end before the server closes, or it would wait for them. */
  onModuleDestroy(): void {
    this.closing = true;
    for (const stream of this.streams) stream.end();
    this.streams.clear();
  }
}
