/**
 * At most `size` writes at once, the others waiting their turn in order: batches commit side by side on
 * several connections (PostgreSQL flushes their commits together), and the rest of the pool stays free
 * for queries and the pruner.
 */
export class WriteSlots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly size: number) {}

  /** Runs `work` in a slot: told whether it had to wait for one. */
  async run<T>(work: (waited: boolean) => Promise<T>): Promise<T> {
    const waited = this.busy >= this.size;
    if (waited) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await work(waited);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.busy--;
    }
  }
}
