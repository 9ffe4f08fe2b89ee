import { Client, ClientConfig, Pool, PoolClient, QueryResultRow, TypeOverrides } from 'pg';
import { StorageUnavailable } from '@daylog/storage';

/**
 * SQLSTATEs that say the server is gone, going or not taking connections, rather than that a statement was
 * wrong: class 08 (connection exception), the 57P0x shutdowns and "cannot connect now", too many connections,
 * and 25P03, a session the server ended for it waited too long in a transaction for its next statement
 * (BatchWriter asks for that).
 */
const SERVER_GONE = /^(08|57P0[1-3]|53300|25P03)/;
/** What Node and pg throw when no server answers, or the connection to it breaks. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOENT', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
const PG_CONNECTION_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error)/;

/** Whether an error from pg means the database cannot be reached now (so: 503, try again), not a fault of ours. */
export function isUnavailable(error: unknown): boolean {
  if (error instanceof StorageUnavailable) return true;
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string' && (SERVER_GONE.test(code) || NETWORK_CODES.has(code))) return true;
  return typeof message === 'string' && PG_CONNECTION_MESSAGES.test(message);
}

const INT8_OID = 20;
/**
 * bigint columns as numbers: Daylog's are milliseconds and line ids, far below 2^53, and the core counts in
 * numbers. pg gives them as strings by default, for the sake of values past 2^53. Sums are cast to bigint.
 */
const DAYLOG_TYPES = new TypeOverrides();
DAYLOG_TYPES.setTypeParser(INT8_OID, 'text', Number);

/** How often the database is asked whether it is there, and how long it has to answer. */
const PROBE_INTERVAL_MS = 2_000;
const PROBE_TIMEOUT_MS = 3_000;

export interface PgDatabaseOptions {
  /** A libpq URL (postgres://user:pass@host:5432/db, ?host=/dir for a Unix socket). */
  url: string;
  /** Connections this process keeps at most. */
  maxConnections: number;
  /** How long a statement may run before the client gives up on it: no request waits longer on a database that went silent. */
  statementTimeoutMs: number;
  /** Names this process in pg_stat_activity. */
  applicationName: string;
}

/**
 * The connections of one process to the database, and whether it is reachable: an error that says it is not
 * turns `available` off at once; a probe every two seconds, on a connection of its own, turns it back on once it
 * answers again. A probe the database does not answer in time also cuts every connection lent out: a statement
 * waiting on a silent database fails then, seconds after the silence began, not at its time-out. Every error of
 * that kind leaves here as StorageUnavailable, whatever statement met it.
 */
export class PgDatabase {
  readonly pool: Pool;
  /** How long this process waits for any statement's answer before it gives up on it. */
  readonly statementTimeoutMs: number;
  private reachable = true;
  private asking: Promise<void> | null = null;
  private readonly probe: NodeJS.Timeout;
  private closed = false;
  private readonly connection: ClientConfig;
  /** The probe's own connection: a pool busy with long reads must not pass for a silent database. */
  private probeClient: Client | null = null;
  /** Connections lent out by withClient, each running a statement or a transaction. */
  private readonly lent = new Set<PoolClient>();

  constructor(options: PgDatabaseOptions) {
    this.statementTimeoutMs = options.statementTimeoutMs;
    this.connection = {
      connectionString: options.url,
      connectionTimeoutMillis: PROBE_TIMEOUT_MS,
      query_timeout: options.statementTimeoutMs,
      application_name: options.applicationName,
      types: DAYLOG_TYPES,
      // A connection whose peer vanished without a FIN is found out by the kernel, not left to hang.
      keepAlive: true,
    };
    this.pool = new Pool({ ...this.connection, max: options.maxConnections });
    // An idle connection that breaks (the server restarted) reports here; unheard, it would end the process.
    this.pool.on('error', () => this.markUnreachable());
    // pg-pool hears a connection only while it is idle, or once while it runs pool.query: one the server ends
    // between the two, or that reports twice, would end the process (brianc/node-postgres#2762; seen here in
    // a test that restarts the server, as an uncaught 57P01). Each connection is heard all its life.
    this.pool.on('connect', (client) => client.on('error', () => this.markUnreachable()));
    this.probe = setInterval(() => void this.checkReachable(), PROBE_INTERVAL_MS);
    this.probe.unref();
  }

  get available(): boolean {
    return this.reachable && !this.closed;
  }

  /** Rows of one statement on any connection; `name` makes it a prepared statement, planned once a connection. */
  async query<Row extends QueryResultRow>(text: string, values: unknown[] = [], name?: string): Promise<Row[]> {
    return this.withClient(async (client) => (await client.query<Row>({ text, values, name })).rows);
  }

  /**
   * Runs `work` on one connection in a transaction: committed when it resolves, rolled back when it throws. With
   * `statementTimeoutMs`, the server cancels each of its statements that runs longer (set in the same round trip
   * as BEGIN).
   */
  async transaction<T>(work: (client: PoolClient) => Promise<T>, statementTimeoutMs?: number): Promise<T> {
    return this.withClient(async (client) => {
      await client.query(statementTimeoutMs === undefined ? 'BEGIN' : `BEGIN; SET LOCAL statement_timeout = ${Math.max(1, Math.ceil(statementTimeoutMs))}`);
      try {
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        // On a connection that cannot reach the database, which withClient throws away, the server rolls back.
        if (!isUnavailable(error)) await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
    });
  }

  /** Runs `work` on one connection of its own; a connection that failed is closed rather than given to the next. */
  async withClient<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    await this.answering();
    let client: PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw this.translated(error);
    }
    let broken: Error | undefined;
    // A connection that breaks while lent (the server restarted, or ended its session) says so as an event
    // too, besides failing the statement: the pool hears it only once the connection is back, and unheard, it
    // would end the process.
    const onError = (error: Error) => {
      broken = error;
      this.markUnreachable();
    };
    client.on('error', onError);
    this.lent.add(client);
    try {
      return await work(client);
    } catch (error) {
      if (isUnavailable(error)) broken = error as Error;
      throw this.translated(error);
    } finally {
      this.lent.delete(client);
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** Asks the database whether it answers, whatever is known of it: how boot waits for it. */
  async ping(): Promise<void> {
    try {
      await this.pool.query('SELECT 1');
      this.reachable = true;
    } catch (error) {
      throw this.translated(error);
    }
  }

  /** The error as callers see it: StorageUnavailable when the database cannot be reached, else as it was. */
  translated(error: unknown): unknown {
    if (!isUnavailable(error)) return error;
    this.markUnreachable();
    return error instanceof StorageUnavailable ? error : new StorageUnavailable(error);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.probe);
    this.dropProbeClient();
    await this.pool.end();
  }

  /**
   * Once the database is known to be away, each request asks it first, within the probe's time-out, whether
   * it answers again (one question at a time, shared by all): a 503 within seconds rather than a wait for a
   * pooled connection's statement to time out, and work again as soon as it answers.
   */
  private async answering(): Promise<void> {
    if (this.reachable) return;
    this.asking ??= this.checkReachable().finally(() => (this.asking = null));
    await this.asking;
    if (!this.reachable) throw new StorageUnavailable(new Error('the database does not answer'));
  }

  private markUnreachable(): void {
    this.reachable = false;
  }

  private async checkReachable(): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const silence = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('no answer')), PROBE_TIMEOUT_MS)));
    try {
      await Promise.race([this.probeOnce(), silence]);
      this.reachable = true;
    } catch {
      this.reachable = false;
      this.dropProbeClient();
      // Whatever they wait for will not come in time: their requests get their 503 now.
      for (const client of this.lent) client.connection.stream.destroy();
    } finally {
      clearTimeout(timer);
    }
  }

  private async probeOnce(): Promise<void> {
    if (!this.probeClient) {
      const client = new Client(this.connection);
      // A probe connection that breaks is replaced at the next probe; unheard, its error would end the process.
      client.on('error', () => this.dropProbeClient());
      this.probeClient = client;
      await client.connect();
    }
    await this.probeClient.query('SELECT 1');
  }

  private dropProbeClient(): void {
    this.probeClient?.connection.stream.destroy();
    this.probeClient = null;
  }
}
