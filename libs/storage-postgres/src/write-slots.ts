/**
 * At most `size` writes at once, the others waiting their turn in order: batches commit side by side on
 * several connections (PostgreSQL flushes their commits together), and the rest of the pool stays free
 * for queries and the pruner.
 */
export class WriteSlots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy < this.size) this.busy++;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
