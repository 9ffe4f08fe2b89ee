import { setTimeout as sleep } from 'node:timers/promises';
import { CommittedLines, CommittedLinesListener, PartitionBounds, StoredLabelSet, StoredLogLine, storedLogLine } from '@daylog/storage';
import { LABEL_SET_COLUMNS, LINE_COLUMNS, PgLineRow, lineRowOf } from './line-rows';
import { livePartitions } from './partition-tables';
import { PgDatabase } from './pg-database';

export interface CommittedLinesOptions {
  /** How long after catching up the database is asked again for commits settled since. */
  pollMs: number;
  /** Commits asked for at most at once: a burst is handed over in slices. */
  commitsPerRead: number;
  /** Lines read at most at once (a commit of more is read alone). */
  linesPerRead: number;
  /** How long after an error following is tried again. */
  retryMs: number;
}

/**
 * A tail shows another replica's lines within a quarter of a second (measured by test/postgres-tail.test.ts).
 * An ask that finds nothing probes the index of each partition of ingest_commits: ~1 ms of the database's
 * time with 25 of them, measured, so four a second per replica cost it well under 1% of a core.
 */
const DEFAULTS: Readonly<CommittedLinesOptions> = { pollMs: 250, commitsPerRead: 500, linesPerRead: 10_000, retryMs: 1_000 };

/** An ingest transaction's place in the order commits are handed over: its xid (xid8, as text), then its id. */
interface CommitKey {
  xid: string;
  id: number;
}

interface Commit extends CommitKey {
  minTs: number;
  maxTs: number;
  lines: number;
}

/** A row of SETTLED_COMMITS: the snapshot's bounds, and a commit's columns, null when none is settled. */
type SettledRow = { horizon: string; newest: string } & (Commit | { [K in keyof Commit]: null });

/** A caller of caughtUp(): settled once following has passed every xid below `target`, set by the first read after the call. */
interface Waiter {
  target: bigint | null;
  resolve: () => void;
}

/**
 * Commits settled now, after `$1, $2`: every transaction with an xid below the snapshot's xmin has ended,
 * so nothing committed later can come before them (a smaller xid that commits after a bigger one waits
 * for this horizon to pass it). The snapshot's xmax goes with them: every transaction that had ended when
 * the statement began has an xid below it.
 */
const SETTLED_COMMITS = `
  SELECT s.horizon::text AS horizon, s.newest::text AS newest,
         c.id, c.xid::text AS xid, c.min_ts AS "minTs", c.max_ts AS "maxTs", c.lines
    FROM (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon, pg_snapshot_xmax(pg_current_snapshot()) AS newest) AS s
    LEFT JOIN LATERAL (
          SELECT id, xid, min_ts, max_ts, lines FROM ingest_commits
           WHERE (xid, id) > ($1::xid8, $2::bigint) AND xid < s.horizon
           ORDER BY xid, id LIMIT $3
         ) AS c ON true
   ORDER BY c.xid, c.id`;

const HORIZON = 'SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon';

/**
 * Follows `ingest_commits` (migrations/postgres/001_schema.sql), whichever replica wrote them: asks every
 * `pollMs` for the commits below the snapshot horizon after the last one handed over, reads their lines
 * a slice at a time, and hands each commit's lines over once, in xid order. While no lines are wanted
 * (no tail is open) it moves past commits without reading their lines. An error (the database gone) is
 * tried again from the same commit, so nothing is skipped nor handed over twice.
 */
export class PgCommittedLines implements CommittedLines {
  private readonly options: CommittedLinesOptions;
  private readonly labelSets = new Map<number, StoredLabelSet>();
  private partitions: PartitionBounds[] = [];
  /** The last commit handed over (at first: just below the horizon when following began). */
  private last: CommitKey | null = null;
  private waiters: Waiter[] = [];
  private following: Promise<void> | null = null;
  private stopping = false;
  private wakeUp = new AbortController();
  private woken = false;

  constructor(
    private readonly db: PgDatabase,
    options: Partial<CommittedLinesOptions> = {},
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  follow(listener: CommittedLinesListener): void {
    if (this.following) throw new Error('already following');
    this.following = this.run(listener);
  }

  caughtUp(): Promise<void> {
    if (this.stopping || !this.following) return Promise.resolve();
    const settled = new Promise<void>((resolve) => this.waiters.push({ target: null, resolve }));
    this.wake();
    return settled;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.following;
    this.settleWaiters(null);
  }

  private async run(listener: CommittedLinesListener): Promise<void> {
    let failing = false;
    while (!this.stopping) {
      let pauseMs = this.options.pollMs;
      try {
        this.last ??= { xid: (await this.db.query<{ horizon: string }>(HORIZON))[0].horizon, id: 0 };
        await this.catchUp(listener, this.last);
        failing = false;
      } catch (error) {
        if (!failing) listener.failed(error);
        failing = true;
        pauseMs = this.options.retryMs;
      }
      await this.pause(pauseMs);
    }
  }

  /** Hands over every commit settled now, a read at a time, then settles the waiters the horizon has passed. */
  private async catchUp(listener: CommittedLinesListener, from: CommitKey): Promise<void> {
    for (let last = from; ; ) {
      const asking = this.waiters.filter((waiter) => waiter.target === null);
      const rows = await this.db.query<SettledRow>(SETTLED_COMMITS, [last.xid, last.id, this.options.commitsPerRead]);
      for (const waiter of asking) waiter.target = BigInt(rows[0].newest);
      const commits = rows.filter((row): row is Commit & SettledRow => row.id !== null);
      for (const slice of this.slices(commits)) {
        const lines = listener.wanted() ? await this.linesOf(slice) : new Map<number, StoredLogLine[]>();
        for (const commit of slice) {
          if (this.stopping) return;
          // Moved on before publishing: a publish that throws loses its lines for tails rather than repeating them.
          this.last = last = { xid: commit.xid, id: commit.id };
          const committed = lines.get(commit.id);
          if (committed) listener.publish(committed);
        }
      }
      if (commits.length < this.options.commitsPerRead) return this.settleWaiters(BigInt(rows[0].horizon));
    }
  }

  /** Commits in order, in runs of at most `linesPerRead` lines (a bigger commit alone). */
  private *slices(commits: Commit[]): Generator<Commit[]> {
    let slice: Commit[] = [];
    let lines = 0;
    for (const commit of commits) {
      if (slice.length > 0 && lines + commit.lines > this.options.linesPerRead) {
        yield slice;
        slice = [];
        lines = 0;
      }
      slice.push(commit);
      lines += commit.lines;
    }
    if (slice.length > 0) yield slice;
  }

  /** The lines of some commits by commit, each commit's in the order they were written; bounded by time, so that only their partitions are read. */
  private async linesOf(commits: Commit[]): Promise<Map<number, StoredLogLine[]>> {
    const byCommit = new Map<number, StoredLogLine[]>();
    const written = commits.filter((commit) => commit.lines > 0);
    if (written.length === 0) return byCommit;
    const rows = await this.db.query<PgLineRow & { commitId: number }>(
      `SELECT commit_id AS "commitId", ${LINE_COLUMNS} FROM logs WHERE commit_id = ANY($1::bigint[]) AND ts BETWEEN $2 AND $3 ORDER BY id`,
      [written.map((commit) => commit.id), Math.min(...written.map((commit) => commit.minTs)), Math.max(...written.map((commit) => commit.maxTs))],
    );
    await this.learnLabelSets(rows.map((row) => row.labelSetId));
    if (rows.some((row) => !this.partitionOf(row.ts))) this.partitions = await this.db.withClient(livePartitions);
    for (const row of rows) {
      // A line no live partition holds is being dropped with its partition, past the retention.
      const partition = this.partitionOf(row.ts);
      if (!partition) continue;
      const line = storedLogLine(lineRowOf(row), this.labelSets.get(row.labelSetId)!, partition.startMs);
      const lines = byCommit.get(row.commitId);
      if (lines) lines.push(line);
      else byCommit.set(row.commitId, [line]);
    }
    return byCommit;
  }

  /** Label sets by id, kept for good: ids are never given to another label set. */
  private async learnLabelSets(ids: number[]): Promise<void> {
    const unknown = [...new Set(ids)].filter((id) => !this.labelSets.has(id));
    if (unknown.length === 0) return;
    for (const labelSet of await this.db.query<StoredLabelSet>(`SELECT ${LABEL_SET_COLUMNS} FROM streams WHERE id = ANY($1::int[])`, [unknown])) {
      this.labelSets.set(labelSet.id, labelSet);
    }
    const missing = unknown.find((id) => !this.labelSets.has(id));
    if (missing !== undefined) throw new Error(`label set ${missing} has committed lines but is not in streams`);
  }

  private partitionOf(ts: number): PartitionBounds | undefined {
    return this.partitions.find((p) => p.startMs <= ts && ts < p.endMs);
  }

  /** Settles the waiters whose target the horizon has reached; null: all of them (following stopped). */
  private settleWaiters(horizon: bigint | null): void {
    const settled = this.waiters.filter((waiter) => horizon === null || (waiter.target !== null && waiter.target <= horizon));
    this.waiters = this.waiters.filter((waiter) => !settled.includes(waiter));
    for (const waiter of settled) waiter.resolve();
  }

  /** Waits `ms` unless woken; the timer alone does not keep the process alive. */
  private async pause(ms: number): Promise<void> {
    if (!this.woken && !this.stopping) await sleep(ms, undefined, { signal: this.wakeUp.signal, ref: false }).catch(() => undefined);
    this.wakeUp = new AbortController();
    this.woken = false;
  }

  /** The next read comes now rather than after the pause. */
  private wake(): void {
    this.woken = true;
    this.wakeUp.abort();
  }
}
