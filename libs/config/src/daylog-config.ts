export interface DaylogConfig {
  host: string;
  port: number;
  dataDir: string;
  retentionMs: number;
  partitionMs: number;
  pruneIntervalMs: number;
  maxBodyBytes: number;
  maxLineBytes: number;
  /** Lines accepted but not yet committed; past this, ingest answers 503 with Retry-After. */
  maxQueuedLines: number;
  /** SQLite's synchronous setting: `full` fsyncs every commit before the 2xx leaves. */
  synchronous: 'full' | 'normal';
}
