import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CURSOR_KEY_BYTES, LineTester, PartitionedReader, StorageBackend } from '@daylog/storage';
import { migratePostgres } from './migrator';
import { PgDatabase } from './pg-database';
import { PgLogStore } from './pg-log-store';
import { PgPartitions } from './pg-partitions';
import { WordIndexBuilder } from './word-index-builder';

export interface PostgresStorageOptions {
  /** DAYLOG_POSTGRES_URL: a libpq URL. */
  url: string;
  partitionMs: number;
  /** Whether closed partitions get a word index (WordIndexBuilder). */
  fullText: boolean;
  maxLabelSetsPerNamespace: number;
  /** From DAYLOG_CURSOR_SECRET; null: the key kept in the database, made by the first replica that finds none. */
  cursorKey: Buffer | null;
  /** DAYLOG_QUERY_TIMEOUT: statements are given up a little after it, so that none outlives its request. */
  queryTimeoutMs: number;
  /** How long boot keeps trying to reach the database before it fails. */
  connectTimeoutMs: number;
  /** Tests the lines of text searches (words, regexes) where a slow one can be stopped: JavaScript's meaning, not SQL's. */
  lineTester: LineTester;
}

/** Connections one replica keeps: enough for ingest commits, reads and the pruner at once on two cores. */
const MAX_CONNECTIONS = 10;
/** What a statement may take past the query time-out before the client gives up on it. */
const STATEMENT_MARGIN_MS = 2_000;
const CONNECT_RETRY_MS = 1_000;

/** The pool of connections a replica reads and writes through (what the bench reads through as well, named apart). */
export function replicaDatabase(url: string, queryTimeoutMs: number, applicationName = 'daylog'): PgDatabase {
  return new PgDatabase({ url, maxConnections: MAX_CONNECTIONS, statementTimeoutMs: queryTimeoutMs + STATEMENT_MARGIN_MS, applicationName });
}

/** The database cannot be reached at boot, or refuses us: said in one line without the URL (which may hold a password). */
export class DatabaseUnreachable extends Error {}

/**
 * The scale-out engine: PostgreSQL, shared by every replica. Boot waits for the database (up to
 * `connectTimeoutMs`), applies the migrations under an advisory lock, and takes the cursor key. With
 * `fullText`, closed partitions get their word index in the background until the storage is closed.
 */
export async function openPostgresStorage(options: PostgresStorageOptions): Promise<StorageBackend> {
  const db = replicaDatabase(options.url, options.queryTimeoutMs);
  try {
    await waitForDatabase(db, options.connectTimeoutMs);
    await db.withClient((client) => migratePostgres(client));
    const cursorKey = options.cursorKey ?? (await keptCursorKey(db));
    const store = await PgLogStore.open(db, new PartitionedReader(new PgPartitions(db, options.lineTester)), options);
    const wordIndexes = options.fullText ? new WordIndexBuilder(db, options.url) : null;
    wordIndexes?.start();
    return {
      store,
      committedLines: store.committedLines(),
      cursorKey,
      lineTester: options.lineTester,
      close: async () => {
        await wordIndexes?.stop();
        await store.close();
      },
    };
  } catch (error) {
    await db.close();
    throw error;
  }
}

async function waitForDatabase(db: PgDatabase, timeoutMs: number): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  const noAnswer = new Error('the server did not answer');
  /** What the last ping that ended was told: a refusal says more than a wait cut short. */
  let lastRefusal: unknown = null;
  for (;;) {
    let timer: NodeJS.Timeout | undefined;
    // A ping that outlasts the wait (a server that takes the connection and never answers) ends with it.
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(noAnswer), Math.max(0, giveUpAt - Date.now()))));
    try {
      await Promise.race([db.ping(), late]);
      return;
    } catch (error) {
      if (error !== noAnswer) lastRefusal = error;
      const left = giveUpAt - Date.now();
      if (left <= 0) throw new DatabaseUnreachable(`the database cannot be reached after ${Math.round(timeoutMs / 1000)} s: ${reasonOf(lastRefusal ?? error)}`);
      await sleep(Math.min(CONNECT_RETRY_MS, left));
    } finally {
      clearTimeout(timer);
    }
  }
}

/** The first reason pg gave, without anything of the URL. */
function reasonOf(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause ?? error;
  return (cause as Error).message ?? String(cause);
}

/** The key every replica seals cursors with: made once by the first that finds none, then read by all. */
async function keptCursorKey(db: PgDatabase): Promise<Buffer> {
  await db.query('INSERT INTO cursor_key (key) VALUES ($1) ON CONFLICT DO NOTHING', [randomBytes(CURSOR_KEY_BYTES)]);
  const [{ key }] = await db.query<{ key: Buffer }>('SELECT key FROM cursor_key');
  return key;
}
