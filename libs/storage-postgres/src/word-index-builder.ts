import { Client } from 'pg';
import { PartitionBounds } from '@daylog/storage';
import { PRUNER_LOCK } from './advisory-locks';
import { PgDatabase } from './pg-database';
import { unindexedPartitions, wordIndexName } from './word-index';

export interface WordIndexPace {
  /** How often a replica looks for a closed partition without a word index. */
  checkEveryMs: number;
  /** After a build, the builder rests this many times as long as the build took, then looks again. */
  restPerBuild: number;
}

/**
 * A partition closes once an hour, and its build takes seconds (~45 µs a line on a busy two-core machine): a
 * check every half minute finds it soon enough. Resting as long as each build took keeps a catch-up (after
 * DAYLOG_FULL_TEXT is turned on, say) to half of one of the database's cores.
 */
const PACE: WordIndexPace = { checkEveryMs: 30_000, restPerBuild: 1 };

export interface BuiltWordIndex {
  partition: PartitionBounds;
  tookMs: number;
}

/**
 * Builds the word index of closed partitions (migrations/postgres/002_word_index.sql), newest first, one at a
 * time across replicas: under the pruner's advisory lock, so that a build and a prune never run at once (a
 * DETACH … CONCURRENTLY would wait for a build of its partition to end). CREATE INDEX CONCURRENTLY on the
 * partition lets ingest of late lines and queries go on; a build that did not end (the replica stopped or died,
 * the server restarted) leaves an INVALID index, dropped and built again. Each build runs on a connection of its
 * own, without the pool's time-out (a build outlasts any query), which the server gives up within a second of
 * the connection's end: a replica that stops or dies leaves no build running under the lock.
 */
export class WordIndexBuilder {
  private timer: NodeJS.Timeout | undefined;
  private pass: Promise<void> | null = null;
  private building: Client | null = null;
  private stopped = false;

  constructor(
    private readonly db: PgDatabase,
    private readonly url: string,
    private readonly pace = PACE,
  ) {}

  /** Looks at once, then every `checkEveryMs`, or after a build's rest. */
  start(): void {
    this.schedule(0);
  }

  /**
   * Builds the index of the newest closed partition without a valid one, when this replica gets the lock;
   * returns it, or null when there is none to build or another replica holds the lock.
   */
  async buildNext(): Promise<BuiltWordIndex | null> {
    if ((await this.db.withClient(unindexedPartitions)).length === 0 || this.stopped) return null;
    const client = new Client({ connectionString: this.url, application_name: 'daylog words' });
    // A connection lost mid-build fails the statement; unheard, the event would end the process.
    client.on('error', () => undefined);
    this.building = client;
    try {
      await client.connect();
      const { rows } = await client.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [PRUNER_LOCK.toString()]);
      if (!rows[0].locked) return null;
      // Whatever the role's defaults: a build takes as long as it takes, and ends with its connection.
      await client.query("SET statement_timeout = 0; SET lock_timeout = 0; SET client_connection_check_interval = '1s'");
      const [next] = await unindexedPartitions(client);
      if (!next || this.stopped) return null;
      const started = performance.now();
      const { name } = next.partition;
      if (next.leftover) await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${wordIndexName(name)}`);
      await client.query(`CREATE INDEX CONCURRENTLY ${wordIndexName(name)} ON ${name} USING gin (daylog_words(message))`);
      // Statistics of the indexed words: the planner then knows a common word from a rare one.
      await client.query(`ANALYZE ${name}`);
      return { partition: next.partition, tookMs: performance.now() - started };
    } finally {
      this.building = null;
      // Ending the session lets go of the lock.
      await client.end().catch(() => undefined);
    }
  }

  /** Stops looking; a build under way is given up (its INVALID index is built again later, by whichever replica). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.building?.end().catch(() => undefined);
    await this.pass;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.pass = this.buildAndReschedule();
    }, delayMs);
    this.timer.unref();
  }

  private async buildAndReschedule(): Promise<void> {
    let next = this.pace.checkEveryMs;
    try {
      const built = await this.buildNext();
      if (built) next = built.tookMs * this.pace.restPerBuild;
    } catch {
      // The database is away, or the partition was dropped meanwhile: the next check tries again.
    }
    this.pass = null;
    this.schedule(next);
  }
}
