import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, appendFileSync, chmodSync, chownSync, constants, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { migratePostgres } from '@daylog/storage-postgres';
import { debianTool } from './debian-tool';
import { freePort } from './shipper-harness';

/** Debian's PostgreSQL 15, which `.ci/run` installs when it is missing. */
export const POSTGRES_BIN = '/usr/lib/postgresql/15/bin';

/**
 * Test-only settings (POSTGRES.md §6.1): nothing is flushed to disk, for a machine crash may corrupt a
 * cluster that is thrown away anyway. A commit is still written to the OS before it returns
 * (synchronous_commit on, a write() without fsync), so a server killed as in a crash keeps every
 * acknowledged transaction, as tests of a database restarted under load expect. Room for several
 * aggregator replicas of ~10 connections each.
 */
export const THROWAWAY_SETTINGS: Readonly<Record<string, string | number>> = {
  fsync: 'off',
  synchronous_commit: 'on',
  full_page_writes: 'off',
  shared_buffers: '128MB',
  max_connections: 200,
};

export interface RestartOptions {
  /** Stop as a crash would (`-m immediate`: recovery at the next start) rather than with a clean shutdown. */
  immediate?: boolean;
  /** Runs while the server is down, before it starts again. */
  whileDown?: () => Promise<void>;
}

export interface PostgresCluster {
  /** The temp dir: data directory, log and Unix socket. */
  readonly dir: string;
  readonly port: number;
  /** A database over the cluster's Unix socket (no password: the socket's directory is the postgres user's alone). */
  url(database?: string): string;
  /** The same database over 127.0.0.1, with the superuser's password in the URL (TCP asks for it). */
  tcpUrl(database?: string): string;
  /** Makes a database, a copy of `template` when given (nobody may be connected to the template); returns its socket URL. */
  createDatabase(name: string, template?: string): Promise<string>;
  /** Stops the server and starts it again on the same data directory and port. */
  restart(options?: RestartOptions): Promise<void>;
  /**
   * Runs `work` while every process of the server is stopped (SIGSTOP) and so answers nothing, as a database
   * behind a network that went silent; they go on (SIGCONT) afterwards, or when the test process exits.
   */
  whileFrozen<T>(work: () => Promise<T>): Promise<T>;
  /** Shuts the server down and removes the temp dir. */
  stop(): Promise<void>;
  /** Stops the server at once and removes the temp dir, synchronously: for exit handlers. */
  kill(): void;
}

const run = promisify(execFile);
const SERVER_TIMEOUT_S = 60;
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** Clusters still running, stopped by the exit handler if a test or bench ends without stopping them. */
const running = new Set<PostgresCluster>();
let exitHandlersInstalled = false;

function killAllOnExit(): void {
  if (exitHandlersInstalled) return;
  exitHandlersInstalled = true;
  process.on('exit', () => running.forEach((cluster) => cluster.kill()));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      running.forEach((cluster) => cluster.kill());
      // The default action again: the process ends as the signal meant, unless someone else handles it.
      process.kill(process.pid, signal);
    });
  }
}

/**
 * The server's environment: PATH only, so that it keeps the real clock when the suite runs with the clock
 * moved (npm run test:clock-ahead). Under libfaketime PostgreSQL 15 never fires its timeouts (measured:
 * pg_sleep(3) ran to its end past a statement_timeout of 500 ms), and Daylog reads no time from the database:
 * every time it stores or compares comes from the aggregator's clock.
 */
function serverEnv(): Record<string, string> {
  return process.env.PATH === undefined ? {} : { PATH: process.env.PATH };
}

function postgresIds(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}


function quoteIdentifier(name: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`${JSON.stringify(name)} is not a database name this helper makes: use [a-z_][a-z0-9_]*`);
  return `"${name}"`;
}

/**
 * A throwaway PostgreSQL 15 cluster in a temp dir, run as the `postgres` user (initdb refuses root),
 * listening on a Unix socket in that dir and on 127.0.0.1 at a free port. Stop it in an `after` hook;
 * a process exit handler stops any left running.
 */
export async function startPostgres(settings: Readonly<Record<string, string | number>> = THROWAWAY_SETTINGS): Promise<PostgresCluster> {
  try {
    accessSync(join(POSTGRES_BIN, 'postgres'), constants.X_OK);
  } catch {
    throw new Error('PostgreSQL 15 is not installed: .ci/run installs it (apt-get install postgresql-15)');
  }
  const runuser = debianTool('runuser', 'util-linux');
  const asPostgres = (program: string, args: string[]) =>
    run(runuser, ['-u', 'postgres', '--', join(POSTGRES_BIN, program), ...args], { env: serverEnv() });

  const dir = mkdtempSync(join(tmpdir(), 'daylog-pg-'));
  const { uid, gid } = postgresIds();
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  const password = randomBytes(18).toString('base64url');
  let port = 0;
  let removed = false;
  let frozen: number[] = [];

  const logTail = () => (existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-20).join('\n') : '(no server log)');
  const failed = (step: string, error: unknown) =>
    new Error(`PostgreSQL ${step} failed: ${(error as { stderr?: string }).stderr ?? (error as Error).message}\n${logTail()}`, { cause: error });

  const startServer = async () => {
    try {
      await asPostgres('pg_ctl', ['-D', data, '-l', log, '-w', '-t', `${SERVER_TIMEOUT_S}`, '-o', `-p ${port}`, 'start']);
    } catch (error) {
      throw failed('start', error);
    }
  };
  const stopServer = async (mode: 'fast' | 'immediate') => {
    try {
      await asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', `${SERVER_TIMEOUT_S}`, 'stop']);
    } catch (error) {
      throw failed('stop', error);
    }
  };
  const serverProcesses = (): number[] => {
    const postmaster = Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    const children = readdirSync('/proc')
      .filter((entry) => /^\d+$/.test(entry))
      .filter((pid) => {
        try {
          // /proc/<pid>/stat: "pid (name) state ppid …"; the name may hold spaces, never ") ".
          return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === postmaster;
        } catch {
          return false;
        }
      });
    return [postmaster, ...children.map(Number)];
  };
  const thaw = () => {
    for (const pid of frozen) {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Ended meanwhile: nothing left to wake.
      }
    }
    frozen = [];
  };
  const remove = () => {
    running.delete(cluster);
    rmSync(dir, { recursive: true, force: true });
    removed = true;
  };

  const cluster: PostgresCluster = {
    dir,
    get port() {
      return port;
    },
    url: (database = 'postgres') => `postgres://postgres@/${database}?host=${encodeURIComponent(dir).replaceAll('%2F', '/')}&port=${port}`,
    tcpUrl: (database = 'postgres') => `postgres://postgres:${password}@127.0.0.1:${port}/${database}`,
    async createDatabase(name, template) {
      const statement = `CREATE DATABASE ${quoteIdentifier(name)}${template === undefined ? '' : ` TEMPLATE ${quoteIdentifier(template)}`}`;
      const client = new Client({ connectionString: cluster.url() });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
      return cluster.url(name);
    },
    async restart({ immediate = false, whileDown } = {}) {
      await stopServer(immediate ? 'immediate' : 'fast');
      await whileDown?.();
      await startServer();
    },
    async whileFrozen(work) {
      frozen = serverProcesses();
      for (const pid of frozen) process.kill(pid, 'SIGSTOP');
      try {
        return await work();
      } finally {
        thaw();
      }
    },
    async stop() {
      if (removed) return;
      await stopServer('fast');
      remove();
    },
    kill() {
      if (removed) return;
      thaw();
      spawnSync(runuser, ['-u', 'postgres', '--', join(POSTGRES_BIN, 'pg_ctl'), '-D', data, '-m', 'immediate', '-w', 'stop'], {
        env: serverEnv(),
        stdio: 'ignore',
        timeout: SERVER_TIMEOUT_S * 1000,
      });
      remove();
    },
  };

  killAllOnExit();
  running.add(cluster);
  try {
    const passwordFile = join(dir, 'password');
    writeFileSync(passwordFile, `${password}\n`, { mode: 0o600 });
    chownSync(passwordFile, uid, gid);
    try {
      await asPostgres('initdb', [
        '-D', data, '-U', 'postgres', '--pwfile', passwordFile, '--auth-local=trust', '--auth-host=scram-sha-256',
        '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', '--no-instructions',
      ]);
    } catch (error) {
      throw failed('initdb', error);
    } finally {
      rmSync(passwordFile, { force: true });
    }
    const lines = { ...settings, listen_addresses: "'127.0.0.1'", unix_socket_directories: `'${dir}'` };
    appendFileSync(join(data, 'postgresql.conf'), Object.entries(lines).map(([name, value]) => `${name} = ${value}\n`).join(''));
    // A free port may be taken again before the server binds it: try a few.
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await startServer();
        break;
      } catch (error) {
        if (attempt === 3 || !logTail().includes('could not bind')) throw error;
      }
    }
  } catch (error) {
    cluster.kill();
    throw error;
  }
  return cluster;
}

/** A client connected to `url`; the caller ends it. */
export async function connectTo(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** The database every app's database is copied from: migrated once, so that each app starts as on a migrated database. */
const MIGRATED_TEMPLATE = 'daylog_migrated';
let processCluster: Promise<PostgresCluster> | undefined;
let databasesMade = 0;

/**
 * A fresh, migrated database on this test process's own cluster, which is started on first use and stopped
 * when the process exits: the e2e suite on PostgreSQL (DAYLOG_TEST_ENGINE=postgres) gives each app one.
 */
export async function freshMigratedDatabase(): Promise<string> {
  processCluster ??= startPostgres().then(async (cluster) => {
    const template = await connectTo(await cluster.createDatabase(MIGRATED_TEMPLATE));
    try {
      await migratePostgres(template);
    } finally {
      await template.end();
    }
    return cluster;
  });
  const name = `daylog_${++databasesMade}`;
  return (await processCluster).createDatabase(name, MIGRATED_TEMPLATE);
}

/**
 * Holds every write into `logs` of the database at `url` until `release` (which may be called more than once):
 * a transaction of the test's own keeps the table locked against inserts, while reads go on.
 */
export async function holdPostgresWrites(url: string): Promise<{ release: () => Promise<void> }> {
  const client = await connectTo(url);
  await client.query('BEGIN; LOCK TABLE logs IN EXCLUSIVE MODE');
  let released: Promise<void> | undefined;
  return {
    release: () =>
      (released ??= client
        .query('COMMIT')
        .then(() => undefined)
        .finally(() => client.end())),
  };
}
