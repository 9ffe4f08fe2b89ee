/** A search's work (someone waits on its answer), or a live tail's batch to test. */
export type WorkKind = 'search' | 'tail';

interface ClientShare<T> {
  searches: T[];
  tailTests: T[];
  /** Threads the client's work is on. */
  held: number;
  /** When it last had a thread, in turns given out; 0: not since it last had nothing waiting or running. */
  servedTurn: number;
}

/**
 * Work waiting for a pool's threads (WorkerPool), shared out between the clients it is for, so that no client can
 * keep another's waiting behind its own slow work:
 * - a client never holds more than `mostPerClient` threads (all but one), so a thread is left to the others
 *   even between two windows of their searches, when they have nothing waiting;
 * - a free thread goes to the client holding the fewest, then to the one served longest ago (one that had
 *   nothing waiting or running is served before those that did): round robin across clients;
 * - a client's searches go before its own tails' tests (someone waits on a search's answer).
 * A client is an opaque name; work of no client in particular shares one.
 */
export class ClientShares<T> {
  /** The clients with work waiting or running; forgotten once they have neither. */
  private readonly clients = new Map<string, ClientShare<T>>();
  private turns = 0;

  constructor(private readonly mostPerClient: number) {}

  add(client: string, kind: WorkKind, work: T): void {
    let share = this.clients.get(client);
    if (!share) this.clients.set(client, (share = { searches: [], tailTests: [], held: 0, servedTurn: 0 }));
    (kind === 'search' ? share.searches : share.tailTests).push(work);
  }

  /** The work a free thread takes up next, counted as its client's until `release`; null when none may be. */
  take(): { client: string; work: T } | null {
    let next: [string, ClientShare<T>] | null = null;
    for (const entry of this.clients) {
      const share = entry[1];
      if (share.held >= this.mostPerClient || share.searches.length + share.tailTests.length === 0) continue;
      if (!next || share.held < next[1].held || (share.held === next[1].held && share.servedTurn < next[1].servedTurn)) next = entry;
    }
    if (!next) return null;
    const [client, share] = next;
    share.held++;
    share.servedTurn = ++this.turns;
    return { client, work: (share.searches.shift() ?? share.tailTests.shift())! };
  }

  /** A client's work left its thread. */
  release(client: string): void {
    const share = this.clients.get(client);
    if (!share) return;
    share.held--;
    if (share.held === 0 && share.searches.length + share.tailTests.length === 0) this.clients.delete(client);
  }

  /** Every piece of work still waiting, taken out. */
  drain(): T[] {
    const waiting: T[] = [];
    for (const [client, share] of this.clients) {
      waiting.push(...share.searches.splice(0), ...share.tailTests.splice(0));
      if (share.held === 0) this.clients.delete(client);
    }
    return waiting;
  }
}
