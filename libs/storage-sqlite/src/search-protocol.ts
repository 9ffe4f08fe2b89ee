import { LineTestWork } from '@daylog/storage';
import { Statement } from './page-statement';

/** What a search thread is given to do: a statement's rows on a partition file, or lines to test. */
export type SearchWork = { type: 'rows'; file: string; statement: Statement } | LineTestWork;

/** What a search thread is told, between jobs: partition files whose connections it closes. */
export interface ForgetFiles {
  forget: string[];
}

/** A statement's rows, or that its deadline passed before they were all read. */
export type RowsAnswer = unknown[] | 'out-of-time';
