import { TokenGrant } from './tokens';

/** The database PostgreSQL mode keeps every replica's lines in. */
export interface PostgresSettings {
  /** A libpq URL. It may hold a password: messages show `shownUrl`, never this. */
  url: string;
  /** The URL with its password replaced by `***`. */
  shownUrl: string;
  /** Where the URL was given, DAYLOG_POSTGRES_URL or DAYLOG_POSTGRES_URL_FILE: what a message about it names. */
  variable: string;
  /** How long boot keeps trying to reach the database before it gives up. */
  connectTimeoutMs: number;
}

export interface DaylogConfig {
  host: string;
  port: number;
  /** Where lines are kept: PostgreSQL when DAYLOG_POSTGRES_URL (or its _FILE) is set; null: SQLite under `dataDir`. */
  postgres: PostgresSettings | null;
  /** SQLite-only settings set while PostgreSQL is chosen: they have no effect, which boot says once. */
  ignoredSettings: string[];
  /** What cursor keys are derived from, the same on every replica (DAYLOG_CURSOR_SECRET); null: the engine keeps its own. */
  cursorSecret: Buffer | null;
  /** SQLite's directory. */
  dataDir: string;
  retentionMs: number;
  partitionMs: number;
  pruneIntervalMs: number;
  maxBodyBytes: number;
  maxLineBytes: number;
  /** Lines accepted but not yet committed; past this, ingest answers 503 with Retry-After. */
  maxQueuedLines: number;
  /** Of those, what one client may hold: half, so that the others always find half the queue free; past it, 429. */
  maxQueuedLinesPerClient: number;
  /** Lines (Loki: entries) one request may carry, counted before they are read into objects; past it, 413. */
  maxLinesPerRequest: number;
  /**
   * Objects one body may hold (JSON objects and arrays; a Loki protobuf's streams, entries and metadata pairs):
   * what parsing costs grows with them, not with bytes, so a body of empty ones is refused before it is parsed.
   */
  maxObjectsPerRequest: number;
  /** SQLite's synchronous setting: `full` fsyncs every commit before the 2xx leaves. */
  synchronous: 'full' | 'normal';
  /** The aggregator's own logs: one JSON object a line, or text for a terminal. */
  logFormat: 'json' | 'text';
  /** How long, after SIGTERM, requests in flight may take before their connections are closed. */
  shutdownGraceMs: number;
  /** Whether closed partitions get a word index for `match` searches. */
  fullText: boolean;
  /** Whether closed partitions are rewritten into compressed blocks (SQLite only). */
  compression: boolean;
  /** Who may write and who may read; null: anyone who can reach the port. */
  ingestTokens: TokenGrant[] | null;
  readTokens: TokenGrant[] | null;
  /** Whether GET /metrics needs a read token. */
  metricsNeedToken: boolean;
  /** Requests a token (or, without one, an address) may make per window; null: no limit. */
  rateLimit: { max: number; windowMs: number } | null;
  /** How long one search reads before it answers with what it has found. */
  queryTimeoutMs: number;
  /** How many lines one search's text filters may read (outside the word index) before it answers. */
  maxScannedLines: number;
  /** The data directory's size past which ingest is refused and the oldest hours go; null: the disk's own size. */
  maxDiskBytes: number | null;
  /** Label sets a namespace may have with lines within the retention; lines that would make one more are refused. */
  maxLabelSetsPerNamespace: number;
  /** Live tails one client (a read token, else an address) may have open at once; past it, 429. */
  maxTailsPerClient: number;
  /** Live tails the server serves at once, from every client; past it, 429. */
  maxTails: number;
}
