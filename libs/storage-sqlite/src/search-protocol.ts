import { LineTestWork } from '@daylog/storage';
import { BlockJob } from './block-reads';
import { Statement } from './page-statement';

/** A page's read of one window on a search thread: a statement's rows on a partition file, or a compacted partition's read. */
export type WindowWork = { file: string; statement: Statement; job?: never } | { file: string; job: BlockJob & { kind: 'page' }; statement?: never };

/**
 * What a search thread is given to do: a statement's rows on a partition file, a compacted partition's read, a
 * page's windows read one after the other (each until its deadline) until `limit` rows in all, or lines to test.
 */
export type SearchWork =
  | { type: 'rows'; file: string; statement: Statement }
  | { type: 'blocks'; file: string; job: BlockJob }
  | { type: 'windows'; windows: (WindowWork & { deadline: number | null })[]; limit: number }
  | LineTestWork;

/** What a search thread is told, between jobs: partition files whose connections it closes. */
export interface ForgetFiles {
  forget: string[];
}

/** A statement's rows, or that its deadline passed before they were all read. */
export type RowsAnswer = unknown[] | 'out-of-time';

/** The rows of each window read, and the window whose deadline passed before its rows were all read (null: none). */
export interface WindowsAnswer<Row = unknown> {
  rows: Row[][];
  outOfTime: number | null;
}
