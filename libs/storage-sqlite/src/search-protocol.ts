import { LineTestWork } from '@daylog/storage';
import { BlockJob } from './block-reads';
import { Statement } from './page-statement';

/** What a search thread is given to do: a statement's rows on a partition file, a compacted partition's read, or lines to test. */
export type SearchWork = { type: 'rows'; file: string; statement: Statement } | { type: 'blocks'; file: string; job: BlockJob } | LineTestWork;

/** What a search thread is told, between jobs: partition files whose connections it closes. */
export interface ForgetFiles {
  forget: string[];
}

/** A statement's rows, or that its deadline passed before they were all read. */
export type RowsAnswer = unknown[] | 'out-of-time';
