// STUB on the base branch: the reads helper replaces this file.
import { CountQuery, CountRow, CursorPosition, LineFilter, LineKey, LineRow, LineTester, LogQuery, PartitionBounds, PartitionSource, StoredLabelSet, WindowRead, WordIndex } from '@daylog/storage';
import { livePartitions } from './partition-tables';
import { PgDatabase } from './pg-database';

export class PgPartitions implements PartitionSource {
  constructor(
    readonly db: PgDatabase,
    readonly lineTester: LineTester,
  ) {}
  partitions(): Promise<PartitionBounds[]> { return this.db.withClient((client) => livePartitions(client)); }
  labelSetsAfter(_afterId: number): Promise<StoredLabelSet[]> { throw new Error('not built yet'); }
  lineAt(_p: PartitionBounds, _position: CursorPosition): Promise<LineRow | null> { throw new Error('not built yet'); }
  wordIndex(_p: PartitionBounds): Promise<WordIndex | null> { throw new Error('not built yet'); }
  minuteTotals(_p: PartitionBounds, _f: LineFilter, _ids: number[] | null): Promise<{ minute: number; lines: number }[]> { throw new Error('not built yet'); }
  linesBetween(_p: PartitionBounds, _from: number, _to: number): Promise<number> { throw new Error('not built yet'); }
  keyAfter(_p: PartitionBounds, _f: number, _t: number, _s: LineKey | null, _b: boolean, _c: number): Promise<LineKey | null> { throw new Error('not built yet'); }
  pageLines(_r: WindowRead, _o: Pick<LogQuery, 'direction' | 'after'>, _l: number): Promise<LineRow[]> { throw new Error('not built yet'); }
  countLines(_r: WindowRead, _b: CountQuery['bucketMs']): Promise<CountRow[]> { throw new Error('not built yet'); }
  countMinutes(_p: PartitionBounds, _f: LineFilter, _ids: number[] | null, _b: CountQuery['bucketMs']): Promise<CountRow[]> { throw new Error('not built yet'); }
  forget(_p: PartitionBounds[]): void {}
  close(): void {}
}
