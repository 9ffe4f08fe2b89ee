import Database from 'better-sqlite3';
import { LabelSet, PartitionBounds, StoredLabelSet } from '@daylog/storage';

/** A partition as the catalogue lists it: with the generation of the file that holds its lines (partitionFile). */
export interface StoredPartition extends PartitionBounds {
  generation: number;
}

/** The catalogue database's statements: partitions and label sets (the `streams` table). */
export class CatalogueStatements {
  private readonly listPartitions: Database.Statement<[], StoredPartition>;
  private readonly updateGeneration: Database.Statement<[number, number]>;
  private readonly insertPartition: Database.Statement<[number, number, string, number]>;
  private readonly deletePartition: Database.Statement<[number]>;
  private readonly labelSetsAfter: Database.Statement<[number], StoredLabelSet>;
  private readonly insertLabelSet: Database.Statement<[string, string, string, string], { id: number }>;
  private readonly deleteLabelSet: Database.Statement<[number]>;
  private readonly version: Database.Statement<[], number>;

  constructor(readonly db: Database.Database) {
    this.listPartitions = db.prepare(
      'SELECT start_ms AS startMs, end_ms AS endMs, name, generation FROM partitions ORDER BY start_ms',
    );
    this.updateGeneration = db.prepare('UPDATE partitions SET generation = ? WHERE start_ms = ?');
    this.insertPartition = db.prepare(
      'INSERT INTO partitions (start_ms, end_ms, name, created_ms) VALUES (?, ?, ?, ?)',
    );
    this.deletePartition = db.prepare('DELETE FROM partitions WHERE start_ms = ?');
    this.labelSetsAfter = db.prepare(
      `SELECT id, NULLIF(namespace, '') AS namespace, pod, NULLIF(container, '') AS container,
              NULLIF(source, '') AS source
       FROM streams WHERE id > ? ORDER BY id`,
    );
    this.insertLabelSet = db.prepare(
      `INSERT INTO streams (namespace, pod, container, source) VALUES (?, ?, ?, ?)
       ON CONFLICT DO UPDATE SET pod = excluded.pod RETURNING id`,
    );
    this.deleteLabelSet = db.prepare('DELETE FROM streams WHERE id = ?');
    this.version = db.prepare<[], number>('PRAGMA data_version').pluck();
  }

  /** A number that changes once another connection (the writer's) has committed to the catalogue, and only then. */
  dataVersion(): number {
    return this.version.get()!;
  }

  partitions(): StoredPartition[] {
    return this.listPartitions.all();
  }

  /** The partition's lines are now in its file of this generation. */
  setGeneration(startMs: number, generation: number): void {
    this.updateGeneration.run(generation, startMs);
  }

  addPartition(partition: PartitionBounds, nowMs: number): void {
    this.insertPartition.run(partition.startMs, partition.endMs, partition.name, nowMs);
  }

  removePartitions(partitions: readonly PartitionBounds[]): void {
    this.db.transaction(() => partitions.forEach((p) => this.deletePartition.run(p.startMs)))();
  }

  labelSets(afterId = 0): StoredLabelSet[] {
    return this.labelSetsAfter.all(afterId);
  }

  /** The ids of label sets, made on first sight, in one transaction. */
  addLabelSets(labelSets: readonly LabelSet[]): number[] {
    return this.db.transaction(() =>
      labelSets.map((labels) => this.insertLabelSet.get(labels.namespace ?? '', labels.pod, labels.container ?? '', labels.source ?? '')!.id),
    )();
  }

  removeLabelSets(ids: readonly number[]): void {
    this.db.transaction(() => ids.forEach((id) => this.deleteLabelSet.run(id)))();
  }
}
