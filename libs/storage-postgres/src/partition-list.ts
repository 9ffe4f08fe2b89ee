import { PartitionBounds } from '@daylog/storage';
import { livePartitions } from './partition-tables';
import { PgDatabase } from './pg-database';

/**
 * Which partitions `logs` has now, as one value: each live partition's table and the version of its row in
 * pg_inherits (its xmin, new whenever a partition is attached, or begins to be detached). Cheaper than the
 * bounds, which PostgreSQL keeps as expression trees to be printed.
 */
const PARTITION_SET = {
  name: 'daylog_partition_set',
  text: `SELECT coalesce(string_agg(inhrelid::text || ':' || xmin::text, ',' ORDER BY inhrelid), '') AS partitions
           FROM pg_inherits WHERE inhparent = 'logs'::regclass AND NOT inhdetachpending`,
};

/**
 * The live partitions, asked of the database on every call, so that one another replica has just made is read
 * at once: the bounds are kept between calls, but only handed out while the set of partitions is the one they
 * were read for. They are read after that set, so they hold every partition of it (a partition that is live
 * at both reads was live in between: one detached never comes back under the same row version).
 */
export class PartitionList {
  private known: { set: string; partitions: PartitionBounds[] } | null = null;

  constructor(private readonly db: PgDatabase) {}

  async live(): Promise<PartitionBounds[]> {
    const [{ partitions: set }] = await this.db.query<{ partitions: string }>(PARTITION_SET.text, [], PARTITION_SET.name);
    if (this.known?.set === set) return this.known.partitions;
    const partitions = await this.db.withClient((client) => livePartitions(client));
    this.known = { set, partitions };
    return partitions;
  }
}
