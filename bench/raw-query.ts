import Database from 'better-sqlite3';
import { join } from 'node:path';
import { LEVELS, Level, LogLine, lineFields } from '@daylog/log-model';
import { LogQuery } from '@daylog/storage';
import { Statement, pageStatement } from '../libs/storage-sqlite/src/page-statement';
import { PartitionBounds, formatOfCode } from '@daylog/storage';
import { partitionFile } from '../libs/storage-sqlite/src/partition-schema';
import { CATALOGUE_FILE } from '../libs/storage-sqlite/src/partition-writer';

const DAY_MS = 86_400_000;

export interface RawFilter {
  pod?: string;
  levels?: Level[];
  contains?: string;
}

export type RawLine = LogLine;


interface StreamRow {
  id: number;
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
}

/** The statement partition-reader.ts runs for one partition of a backward page without a cursor. */
function pageSql(
  partition: PartitionBounds,
  filter: RawFilter,
  streamIds: number[] | null,
  fromMs: number,
  toMs: number,
  limit: number,
): Statement {
  const query: LogQuery = {
    fromMs,
    toMs,
    labels: {},
    levels: filter.levels ?? null,
    contains: filter.contains === undefined ? [] : [filter.contains],
    excludes: [],
    limit,
    direction: 'backward',
    after: null,
  };
  return pageStatement(partition, query, streamIds, limit, null);
}

/** A line as pageStatement selects it (LINE_COLUMNS), as an array: better-sqlite3 makes those faster than objects. */
type RowValues = [id: number, ts: number, labelSetId: number, severity: number, message: string, fields: string | null, format: number | null];

/**
 * The query baseline: the SQL that libs/storage-sqlite/src/sqlite-partitions.ts builds for a newest-first page
 * (same WHERE, ORDER BY and LIMIT limit + 1), run with better-sqlite3 on read-only connections to the same
 * files, newest partition first, stopping once the page is full. The stream ids come from the catalogue on every
 * query, the partition list whenever its data_version has changed, as the reader does; connections and statements
 * are cached, as the reader caches them; rows are read as arrays, the quickest way better-sqlite3 has.
 */
export class RawQueries {
  private readonly catalogue: Database.Database;
  private readonly partitions: Database.Statement<[], PartitionBounds>;
  private readonly dataVersion: Database.Statement<[], number>;
  private listed: { version: number; partitions: PartitionBounds[] } | null = null;
  private readonly streamsAfter: Database.Statement<[number], StreamRow>;
  private readonly podStreams: Database.Statement<[string], number>;
  private readonly streams = new Map<number, StreamRow>();
  private lastStreamId = 0;
  private readonly connections = new Map<string, Database.Database>();
  private readonly statements = new Map<string, Database.Statement<unknown[], RowValues>>();

  constructor(private readonly dataDir: string) {
    this.catalogue = new Database(join(dataDir, CATALOGUE_FILE), { readonly: true, fileMustExist: true });
    this.partitions = this.catalogue.prepare(
      'SELECT start_ms AS startMs, end_ms AS endMs, name FROM partitions ORDER BY start_ms',
    );
    this.streamsAfter = this.catalogue.prepare(
      `SELECT id, NULLIF(namespace, '') AS namespace, pod, NULLIF(container, '') AS container,
              NULLIF(source, '') AS source
       FROM streams WHERE id > ? ORDER BY id`,
    );
    this.podStreams = this.catalogue.prepare<[string], number>('SELECT id FROM streams WHERE pod = ?').pluck();
    this.dataVersion = this.catalogue.prepare<[], number>('PRAGMA data_version').pluck();
  }

  private listPartitions(): PartitionBounds[] {
    const version = this.dataVersion.get()!;
    if (this.listed?.version !== version) this.listed = { version, partitions: this.partitions.all() };
    return this.listed.partitions;
  }

  /** The newest `limit` lines of the last 24 h matching the filter. */
  newest(filter: RawFilter, limit: number): RawLine[] {
    for (const stream of this.streamsAfter.all(this.lastStreamId)) {
      this.streams.set(stream.id, stream);
      this.lastStreamId = stream.id;
    }
    const streamIds = filter.pod === undefined ? null : this.podStreams.all(filter.pod);
    if (streamIds?.length === 0) return [];

    const fromMs = Date.now() - DAY_MS;
    const toMs = Number.MAX_SAFE_INTEGER;
    const lines: RawLine[] = [];
    const partitions = this.listPartitions().filter((p) => p.endMs > fromMs && p.startMs < toMs);
    for (const partition of partitions.reverse()) {
      const { sql, params } = pageSql(partition, filter, streamIds, fromMs, toMs, limit + 1 - lines.length);
      for (const row of this.statement(partition.name, sql).all(...params)) lines.push(this.toLine(row));
      if (lines.length > limit) break;
    }
    if (lines.length > limit) lines.length = limit;
    return lines;
  }

  /** The plan SQLite picks for the filter in the newest partition, for the report. */
  plan(filter: RawFilter, limit: number): string {
    const partition = this.listPartitions().at(-1);
    if (!partition) return '(no partition)';
    const streamIds = filter.pod === undefined ? null : this.podStreams.all(filter.pod);
    const { sql, params } = pageSql(partition, filter, streamIds, Date.now() - DAY_MS, Number.MAX_SAFE_INTEGER, limit + 1);
    const rows = this.connection(partition.name)
      .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
      .all(...params);
    return rows.map((row) => row.detail).join('; ');
  }

  close(): void {
    for (const db of this.connections.values()) db.close();
    this.connections.clear();
    this.statements.clear();
    this.catalogue.close();
  }

  private connection(name: string): Database.Database {
    let db = this.connections.get(name);
    if (!db) {
      db = new Database(partitionFile(this.dataDir, name), { readonly: true, fileMustExist: true });
      this.connections.set(name, db);
    }
    return db;
  }

  private statement(name: string, sql: string): Database.Statement<unknown[], RowValues> {
    const key = `${name}\u0000${sql}`;
    let statement = this.statements.get(key);
    if (!statement) {
      statement = this.connection(name).prepare<unknown[], RowValues>(sql).raw(true);
      this.statements.set(key, statement);
    }
    return statement;
  }

  private toLine([, ts, labelSetId, severity, message, fields, code]: RowValues): RawLine {
    const stream = this.streams.get(labelSetId)!;
    const format = formatOfCode(code);
    const sent = fields === null ? null : (JSON.parse(fields) as LogLine['fields']);
    return {
      ts,
      level: LEVELS[severity],
      namespace: stream.namespace,
      pod: stream.pod,
      container: stream.container,
      source: stream.source,
      message,
      fields: lineFields(format, message, sent),
      format,
    };
  }
}
