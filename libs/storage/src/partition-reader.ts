import Database from 'better-sqlite3';
import { LEVELS, lineFields } from '@daylog/log-model';
import { Catalogue, StreamRow } from './catalogue';
import { matchingStreamIds } from './label-matcher';
import { CountQuery, CursorPosition, LineContext, LineCount, LineFilter, LogQuery, QueryPage, StoredLogLine } from './log-store';
import { FullTextIndex, LINE_COLUMNS, Statement, countStatement, minuteCountStatement, pageStatement } from './page-statement';
import { MINUTE_MS, PartitionBounds, formatOfCode, fullTextTable, partitionFile } from './partition-schema';
import { TextSearchFunctions } from './text-search-functions';

interface LineRow {
  id: number;
  ts: number;
  stream_id: number;
  level: number;
  message: string;
  fields: string | null;
  format: number | null;
}

const HAS_FULL_TEXT = `SELECT count(*) AS found FROM sqlite_master WHERE name = 'fts_state'`;
const FULL_TEXT_STATE = 'SELECT indexed_upto FROM fts_state';

/** Open read connections, newest use last; a day of 1-minute partitions would otherwise exhaust descriptors. */
const OPEN_CONNECTIONS = 64;

/** Statements are cached per connection by their text; the text varies only with the filters' shape. */
const STATEMENTS_PER_PARTITION = 64;

interface CountRow {
  start: number;
  stream_id: number;
  level: number;
  lines: number;
  last_ts: number;
}

class PartitionConnection {
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
 * Reads on the main thread, one read-only connection per partition file; the writer thread's
 * commits are visible to each new statement (WAL).
 */
export class PartitionReader {
  private readonly connections = new Map<string, PartitionConnection>();
  private readonly streams = new Map<number, StreamRow>();
  private readonly textSearch = new TextSearchFunctions();
  private lastStreamId = 0;

  constructor(
    private readonly catalogue: Catalogue,
    private readonly dataDir: string,
  ) {}

  query(query: LogQuery): QueryPage {
    this.textSearch.startQuery();
    this.refreshStreams();
    const streamIds = this.streamIdsFor(query);
    if (streamIds?.length === 0) return { lines: [], next: null };
    return this.page(query, streamIds);
  }

  context(position: CursorPosition, before: number, after: number, oldestMs: number, namespaces?: string[]): LineContext | null {
    const partition = this.catalogue.partitions().find((p) => p.startMs === position.partitionStart);
    if (!partition || position.ts < oldestMs) return null;
    const [row] = this.connection(partition).all<LineRow>({
      sql: `SELECT ${LINE_COLUMNS} FROM "${partition.name}" WHERE id = ? AND ts = ?`,
      params: [position.id, position.ts],
    });
    if (!row) return null;
    this.refreshStreams();
    const stream = this.streams.get(row.stream_id)!;
    if (namespaces && (stream.namespace === null || !namespaces.includes(stream.namespace))) return null;
    const neighbours = [...this.streams.values()]
      .filter((s) => s.namespace === stream.namespace && s.pod === stream.pod && s.container === stream.container)
      .map((s) => s.id);
    const around = (direction: LogQuery['direction'], limit: number): StoredLogLine[] =>
      limit === 0
        ? []
        : this.page(
            { fromMs: oldestMs, toMs: Number.MAX_SAFE_INTEGER, labels: {}, levels: null, contains: [], excludes: [], limit, direction, after: position },
            neighbours,
          ).lines;
    return { before: around('backward', before).reverse(), line: this.toLine(row, partition), after: around('forward', after) };
  }

  /**
   * Whole minutes are read from `line_counts`; the minutes a range starts or ends inside of, and
   * any range searched by text, from the lines.
   */
  count(query: CountQuery): LineCount[] {
    this.textSearch.startQuery();
    this.refreshStreams();
    const streamIds = this.streamIdsFor(query);
    if (streamIds?.length === 0) return [];
    const totals = new Map<string, CountRow>();
    const add = (rows: CountRow[]): void => {
      for (const row of rows) {
        const key = `${row.start}:${row.stream_id}:${row.level}`;
        const total = totals.get(key);
        if (!total) totals.set(key, row);
        else {
          total.lines += row.lines;
          total.last_ts = Math.max(total.last_ts, row.last_ts);
        }
      }
    };
    const searchesText = query.contains.length > 0 || query.excludes.length > 0 || query.match !== undefined || query.regex !== undefined;
    for (const partition of this.catalogue.partitions().filter((p) => p.endMs > query.fromMs && p.startMs < query.toMs)) {
      const connection = this.connection(partition);
      const fromMs = Math.max(query.fromMs, partition.startMs);
      const toMs = Math.min(query.toMs, partition.endMs);
      const index = query.match ? this.fullTextIndex(partition) : null;
      const fromLines = (from: number, to: number) =>
        add(connection.all<CountRow>(countStatement(partition, { ...query, fromMs: from, toMs: to }, streamIds, query.bucketMs, index)));
      const firstMinute = Math.ceil(fromMs / MINUTE_MS) * MINUTE_MS;
      const endMinute = Math.floor(toMs / MINUTE_MS) * MINUTE_MS;
      if (searchesText || firstMinute >= endMinute) {
        fromLines(fromMs, toMs);
        continue;
      }
      if (fromMs < firstMinute) fromLines(fromMs, firstMinute);
      add(connection.all<CountRow>(minuteCountStatement({ ...query, fromMs: firstMinute, toMs: endMinute }, streamIds, query.bucketMs)));
      if (endMinute < toMs) fromLines(endMinute, toMs);
    }
    return [...totals.values()].map((row) => {
      const { namespace, pod, container, source } = this.streams.get(row.stream_id)!;
      return {
        startMs: query.bucketMs === null ? query.fromMs : row.start,
        labels: { namespace, pod, container, source },
        level: LEVELS[row.level],
        lines: row.lines,
        lastTs: row.last_ts,
      };
    });
  }

  forgetPartitionsEndingBy(cutoffMs: number): void {
    this.forgetPartitions(this.catalogue.partitions().filter((p) => p.endMs <= cutoffMs).map((p) => p.name));
  }

  forgetStreams(ids: readonly number[]): void {
    for (const id of ids) this.streams.delete(id);
  }

  close(): void {
    this.forgetPartitions([...this.connections.keys()]);
  }

  private forgetPartitions(names: readonly string[]): void {
    for (const name of names) {
      this.connections.get(name)?.db.close();
      this.connections.delete(name);
    }
  }

  private page(query: LogQuery, streamIds: number[] | null): QueryPage {
    const backward = query.direction === 'backward';
    const partitions = this.catalogue
      .partitions()
      .filter((p) => p.endMs > query.fromMs && p.startMs < query.toMs)
      .filter((p) => !query.after || (backward ? p.startMs <= query.after.partitionStart : p.startMs >= query.after.partitionStart));
    if (backward) partitions.reverse();

    const lines: StoredLogLine[] = [];
    for (const partition of partitions) {
      const index = query.match ? this.fullTextIndex(partition) : null;
      const statement = pageStatement(partition, query, streamIds, query.limit + 1 - lines.length, index);
      for (const row of this.connection(partition).all<LineRow>(statement)) lines.push(this.toLine(row, partition));
      if (lines.length > query.limit) break;
    }
    const hasMore = lines.length > query.limit;
    if (hasMore) lines.length = query.limit;
    return { lines, next: hasMore ? lines[lines.length - 1].position : null };
  }

  private toLine(row: LineRow, partition: PartitionBounds): StoredLogLine {
    const stream = this.streams.get(row.stream_id)!;
    const format = formatOfCode(row.format);
    const sent = row.fields === null ? null : (JSON.parse(row.fields) as StoredLogLine['fields']);
    return {
      ts: row.ts,
      level: LEVELS[row.level],
      namespace: stream.namespace,
      pod: stream.pod,
      container: stream.container,
      source: stream.source,
      message: row.message,
      fields: lineFields(format, row.message, sent),
      format,
      position: { ts: row.ts, partitionStart: partition.startMs, id: row.id },
    };
  }

  private connection(partition: PartitionBounds): PartitionConnection {
    let connection = this.connections.get(partition.name);
    if (connection) {
      this.connections.delete(partition.name);
    } else {
      const db = new Database(partitionFile(this.dataDir, partition.name), { fileMustExist: true });
      db.pragma('query_only = ON');
      this.textSearch.register(db);
      connection = new PartitionConnection(db);
      if (this.connections.size >= OPEN_CONNECTIONS) this.forgetPartitions([this.connections.keys().next().value!]);
    }
    this.connections.set(partition.name, connection);
    return connection;
  }

  /** The label sets a filter reaches: those its label patterns match, within the namespaces it may see; null: all. */
  private streamIdsFor(filter: LineFilter): number[] | null {
    const matching = matchingStreamIds(this.streams.values(), filter.labels);
    if (!filter.namespaces) return matching;
    const allowed = new Set(filter.namespaces);
    const inScope = (id: number) => {
      const namespace = this.streams.get(id)?.namespace;
      return namespace !== null && namespace !== undefined && allowed.has(namespace);
    };
    return (matching ?? [...this.streams.keys()]).filter(inScope);
  }

  /** The partition's full-text index, once the writer has begun one. */
  private fullTextIndex(partition: PartitionBounds): FullTextIndex | null {
    const connection = this.connection(partition);
    const [{ found }] = connection.all<{ found: number }>({ sql: HAS_FULL_TEXT, params: [] });
    if (!found) return null;
    const [state] = connection.all<{ indexed_upto: number }>({ sql: FULL_TEXT_STATE, params: [] });
    return state ? { table: fullTextTable(partition.name), indexedUpTo: state.indexed_upto } : null;
  }

  private refreshStreams(): void {
    for (const stream of this.catalogue.streams(this.lastStreamId)) {
      this.streams.set(stream.id, stream);
      this.lastStreamId = stream.id;
    }
  }
}
