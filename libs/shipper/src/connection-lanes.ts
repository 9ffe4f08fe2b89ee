import { Agent } from 'node:http';

interface Hold {
  lane: number;
  batches: number;
}

/**
 * Kept-alive connections to the aggregator, each carrying one request at a time. A file's batches
 * all take the connection its first batch on its way took, so they reach the aggregator in order;
 * another file's take the least busy connection, so that the aggregator reads one request while it
 * stores another instead of waiting for each in turn.
 */
export class ConnectionLanes {
  private readonly agents: Agent[];
  private readonly batchesOn: number[];
  private readonly holds = new Map<string, Hold>();

  constructor(count: number) {
    this.agents = Array.from({ length: count }, () => new Agent({ keepAlive: true, maxSockets: 1 }));
    this.batchesOn = this.agents.map(() => 0);
  }

  /** The connection for a batch of `file`; `release` it once the batch is answered. */
  take(file: string): Agent {
    let hold = this.holds.get(file);
    if (!hold) {
      hold = { lane: this.batchesOn.indexOf(Math.min(...this.batchesOn)), batches: 0 };
      this.holds.set(file, hold);
    }
    hold.batches++;
    this.batchesOn[hold.lane]++;
    return this.agents[hold.lane];
  }

  release(file: string): void {
    const hold = this.holds.get(file);
    if (!hold) return;
    this.batchesOn[hold.lane]--;
    if (--hold.batches === 0) this.holds.delete(file);
  }

  destroy(): void {
    for (const agent of this.agents) agent.destroy();
  }
}
