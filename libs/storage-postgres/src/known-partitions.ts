import { ClientBase } from 'pg';
import { PartitionBounds, PartitionLayout } from '@daylog/storage';
import { ensurePartition, livePartitions } from './partition-tables';
import { PgDatabase } from './pg-database';

/** Where a line of some time goes: its partition, or 'expired' (its range was pruned), or 'missing' (none made yet). */
export type Placement = PartitionBounds | 'expired' | 'missing';

/**
 * The partitions this replica knows of, so that a batch is placed without asking the database, and the
 * ranges it must never write to again: those a pruner dropped. A replica learns of a drop from its own
 * retention run (every replica's run is given the cutoff, whichever of them drops), or, sooner, when a
 * partition it knew is gone from the catalog: a pruner dropped it, so its range and all before are pruned.
 */
export class KnownPartitions {
  private layout: PartitionLayout;
  private prunedBefore = 0;
  /** Partitions are made one call at a time in this process: two batches needing the same one make it once. */
  private making: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly db: PgDatabase,
    private readonly widthMs: number,
    live: PartitionBounds[],
  ) {
    this.layout = new PartitionLayout(widthMs, live);
  }

  static async load(db: PgDatabase, widthMs: number): Promise<KnownPartitions> {
    return new KnownPartitions(db, widthMs, await db.withClient((client) => livePartitions(client)));
  }

  place(ts: number): Placement {
    const partition = this.layout.find(ts);
    if (partition) return partition.endMs <= this.prunedBefore ? 'expired' : partition;
    return this.layout.planFor(ts).endMs <= this.prunedBefore ? 'expired' : 'missing';
  }

  /** Rereads the catalog, then makes a partition for each of `times` that still has none and is not pruned. */
  make(times: readonly number[]): Promise<void> {
    const made = this.making.then(() =>
      this.db.withClient(async (client) => {
        await this.reread(client);
        for (const ts of times) {
          if (this.place(ts) === 'missing') this.layout.add(await ensurePartition(client, this.widthMs, ts));
        }
      }),
    );
    this.making = made.catch(() => undefined);
    return made;
  }

  /** The partitions after the one holding `nowMs` that lines up to `untilMs` go to, made if missing; none while that one is. */
  async makeAhead(nowMs: number, untilMs: number): Promise<void> {
    const current = this.place(nowMs);
    if (typeof current === 'string') return;
    const times: number[] = [];
    for (let ts = current.endMs; ts <= untilMs; ts = (this.layout.find(ts) ?? this.layout.planFor(ts)).endMs) if (this.place(ts) === 'missing') times.push(ts);
    if (times.length > 0) await this.make(times);
  }

  /** Lines of ranges ending by `cutoffMs` are expired from now on, whether or not this replica drops them. */
  markPruned(cutoffMs: number): void {
    this.prunedBefore = Math.max(this.prunedBefore, cutoffMs);
    this.layout.removeEndingBy(cutoffMs);
  }

  private async reread(client: ClientBase): Promise<void> {
    const live = await livePartitions(client);
    const liveStarts = new Set(live.map((p) => p.startMs));
    for (const known of this.layout.all()) {
      if (!liveStarts.has(known.startMs)) this.prunedBefore = Math.max(this.prunedBefore, known.endMs);
    }
    this.layout = new PartitionLayout(this.widthMs, live);
    this.layout.removeEndingBy(this.prunedBefore);
  }
}
