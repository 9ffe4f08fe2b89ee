import Database from 'better-sqlite3';
import { Statement } from './page-statement';
import { TextSearchFunctions } from './text-search-functions';

/** Open read connections, newest use last; a day of 1-minute partitions would otherwise exhaust descriptors. */
const OPEN_CONNECTIONS = 64;

/**
 * SQLite's page cache for a thread's read connections, at most. better-sqlite3 builds SQLite with 16 MB a
 * connection, which scans filled: hundreds of MB over three threads. The connections read last (a page's
 * partitions, the open hour's above all) keep ACTIVE_CACHE_KB each: a page of lines spread over the hour reads a
 * hundred pages or more (~600 kB), each a system call and a copy from the OS's cache when it is not kept. The
 * others keep what a statement reads again and again (a B-tree's upper pages). A page reads its partitions in turn,
 * page after page: with fewer connections read last than it has partitions, each read pushes out the one the next
 * page reads first, and nothing is ever found kept (a pod's page early in the hour read 6 partitions, 4 were kept:
 * every read set two cache sizes and read its pages anew).
 */
export const ACTIVE_CONNECTIONS = 8;
export const ACTIVE_CACHE_KB = 768;
export const IDLE_CACHE_KB = 32;
export const PAGE_CACHE_KB = ACTIVE_CONNECTIONS * ACTIVE_CACHE_KB + (OPEN_CONNECTIONS - ACTIVE_CONNECTIONS) * IDLE_CACHE_KB;

/** Statements are cached per connection by their text; the text varies only with the filters' shape. */
const STATEMENTS_PER_PARTITION = 64;

/** A prepared statement that gives its rows as arrays, and the names of their columns. */
interface PreparedRows {
  statement: Database.Statement<unknown[], unknown[]>;
  columns: string[];
}

/** A read-only connection to one partition file, with its prepared statements. */
export class PartitionConnection {
  private readonly statements = new Map<string, PreparedRows>();

  constructor(readonly db: Database.Database) {}

  /** Keeps up to `kb` of the file's pages; lowering it lets go of the pages beyond at once. */
  keepPages(kb: number): void {
    this.db.pragma(`cache_size = -${kb}`);
  }

  /**
   * The statement's rows as objects keyed by column name. better-sqlite3 makes each object in C++, a key at a time
   * through V8's API: 100 lines took ~175 µs that way, ~110 as arrays made into objects here.
   */
  all<Row>({ sql, params }: Statement): Row[] {
    let prepared = this.statements.get(sql);
    if (!prepared) {
      const statement = this.db.prepare<unknown[], unknown[]>(sql).raw(true);
      prepared = { statement, columns: statement.columns().map((column) => column.name) };
      if (this.statements.size >= STATEMENTS_PER_PARTITION) this.statements.clear();
      this.statements.set(sql, prepared);
    }
    const { statement, columns } = prepared;
    const rows = statement.all(...params);
    const objects = new Array<Row>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const values = rows[i];
      const row: Record<string, unknown> = {};
      for (let column = 0; column < columns.length; column++) row[columns[column]] = values[column];
      objects[i] = row as Row;
    }
    return objects;
  }
}

/**
 * One thread's read connections to partition files, least recently used closed first; the writer
 * thread's commits are visible to each new statement (WAL). Text search runs on them as SQL functions.
 */
export class ReadConnections {
  private readonly connections = new Map<string, PartitionConnection>();
  /** The connections that keep ACTIVE_CACHE_KB, the one read last at the end. */
  private readonly active: PartitionConnection[] = [];

  /** `textSearch`: the SQL functions of text search, on threads that search text; null elsewhere. */
  constructor(private readonly textSearch: TextSearchFunctions | null) {}

  get(file: string): PartitionConnection {
    let connection = this.connections.get(file);
    if (connection) {
      this.connections.delete(file);
    } else {
      const db = new Database(file, { fileMustExist: true });
      db.pragma('query_only = ON');
      this.textSearch?.register(db);
      connection = new PartitionConnection(db);
      if (this.connections.size >= OPEN_CONNECTIONS) this.forget([this.connections.keys().next().value!]);
    }
    this.connections.set(file, connection);
    this.activate(connection);
    return connection;
  }

  /** Closes the files' connections: closing the last descriptor of an unlinked file is what frees its blocks. */
  forget(files: Iterable<string>): void {
    for (const file of files) {
      const connection = this.connections.get(file);
      if (!connection) continue;
      connection.db.close();
      this.connections.delete(file);
      const at = this.active.indexOf(connection);
      if (at !== -1) this.active.splice(at, 1);
    }
  }

  forgetAll(): void {
    this.forget([...this.connections.keys()]);
  }

  /** The connection read last keeps ACTIVE_CACHE_KB; the one it pushes out of the ACTIVE_CONNECTIONS read last, IDLE_CACHE_KB. */
  private activate(connection: PartitionConnection): void {
    const at = this.active.indexOf(connection);
    if (at === this.active.length - 1 && at !== -1) return;
    if (at === -1) connection.keepPages(ACTIVE_CACHE_KB);
    else this.active.splice(at, 1);
    this.active.push(connection);
    if (this.active.length > ACTIVE_CONNECTIONS) this.active.shift()!.keepPages(IDLE_CACHE_KB);
  }
}
