import Database from 'better-sqlite3';
import { Statement } from './page-statement';
import { TextSearchFunctions } from './text-search-functions';

/** Open read connections, newest use last; a day of 1-minute partitions would otherwise exhaust descriptors. */
const OPEN_CONNECTIONS = 64;

/**
 * SQLite's page cache for all of a thread's read connections. better-sqlite3 builds SQLite with 16 MB a
 * connection, which scans filled: hundreds of MB over three threads. A page read again is a copy from the OS's
 * cache away; what a statement reads again and again (a B-tree's upper pages) fits in a few dozen pages.
 */
const PAGE_CACHE_KB = 8 * 1024;
export const PAGE_CACHE_KB_PER_CONNECTION = PAGE_CACHE_KB / OPEN_CONNECTIONS;

/** Statements are cached per connection by their text; the text varies only with the filters' shape. */
const STATEMENTS_PER_PARTITION = 64;

/** A read-only connection to one partition file, with its prepared statements. */
export class PartitionConnection {
  private readonly statements = new Map<string, Database.Statement<unknown[], unknown>>();

  constructor(readonly db: Database.Database) {}

  all<Row>({ sql, params }: Statement): Row[] {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare<unknown[], unknown>(sql);
      if (this.statements.size >= STATEMENTS_PER_PARTITION) this.statements.clear();
      this.statements.set(sql, statement);
    }
    return statement.all(...params) as Row[];
  }
}

/**
 * One thread's read connections to partition files, least recently used closed first; the writer
 * thread's commits are visible to each new statement (WAL). Text search runs on them as SQL functions.
 */
export class ReadConnections {
  private readonly connections = new Map<string, PartitionConnection>();

  /** `textSearch`: the SQL functions of text search, on threads that search text; null elsewhere. */
  constructor(private readonly textSearch: TextSearchFunctions | null) {}

  get(file: string): PartitionConnection {
    let connection = this.connections.get(file);
    if (connection) {
      this.connections.delete(file);
    } else {
      const db = new Database(file, { fileMustExist: true });
      db.pragma('query_only = ON');
      db.pragma(`cache_size = -${PAGE_CACHE_KB_PER_CONNECTION}`);
      this.textSearch?.register(db);
      connection = new PartitionConnection(db);
      if (this.connections.size >= OPEN_CONNECTIONS) this.forget([this.connections.keys().next().value!]);
    }
    this.connections.set(file, connection);
    return connection;
  }

  /** Closes the files' connections: closing the last descriptor of an unlinked file is what frees its blocks. */
  forget(files: Iterable<string>): void {
    for (const file of files) {
      this.connections.get(file)?.db.close();
      this.connections.delete(file);
    }
  }

  forgetAll(): void {
    this.forget([...this.connections.keys()]);
  }
}
