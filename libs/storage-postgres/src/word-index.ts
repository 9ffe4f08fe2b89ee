import { ClientBase } from 'pg';
import { MatchExpression } from '@daylog/log-model';
import { PartitionBounds, WordIndex } from '@daylog/storage';
import { livePartitions } from './partition-tables';

/**
 * A partition's word index (migrations/postgres/002_word_index.sql): GIN on daylog_words(message), named after
 * its partition. It holds every line of its partition, those written after it was built too (GIN keeps itself
 * up to date), so that a read through it needs no other: the core's `indexedUpTo` is every id there will be.
 */
export const WHOLE_WORD_INDEX: WordIndex = { indexedUpTo: Number.MAX_SAFE_INTEGER };

export function wordIndexName(partition: string): string {
  return `${partition}_words`;
}

/** Whether a partition's word index is built and valid (one built concurrently is neither until its end). */
export const WORD_INDEX_VALID = {
  name: 'daylog_word_index_valid',
  text: 'SELECT coalesce((SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass($1)), false) AS valid',
};

/** The condition the index answers, with the placeholders of a match's words and of which are prefixes. */
export function wordsMatchCondition(words: string, prefixes: string): string {
  return `daylog_words(message) @@ daylog_words_query(${words}, ${prefixes})`;
}

/**
 * The words a match requires, each with whether it is a prefix: a phrase's words are required words too. Never
 * empty (an expression has a word), which daylog_words_query needs: it would find nothing.
 */
export function requiredWords(expression: MatchExpression): { words: string[]; prefixes: boolean[] } {
  const terms = expression.terms.flatMap((term) => (term.kind === 'word' ? [term] : term.tokens.map((token) => ({ token, prefix: false }))));
  return { words: terms.map((term) => term.token), prefixes: terms.map((term) => term.prefix) };
}

/** A closed partition without a valid word index; `leftover`: it has an invalid one (a build that did not end). */
export interface UnindexedPartition {
  partition: PartitionBounds;
  leftover: boolean;
}

/**
 * The partitions that want a word index, newest first: every live one but the newest (lines still arrive there,
 * and GIN would slow every insert) that has no valid index yet.
 */
export async function unindexedPartitions(client: ClientBase): Promise<UnindexedPartition[]> {
  const closed = (await livePartitions(client)).slice(0, -1).reverse();
  if (closed.length === 0) return [];
  const { rows } = await client.query<{ valid: boolean | null }>(
    `SELECT x.indisvalid AS valid FROM unnest($1::text[]) WITH ORDINALITY AS p(name, n) LEFT JOIN pg_index x ON x.indexrelid = to_regclass(p.name) ORDER BY p.n`,
    [closed.map((partition) => wordIndexName(partition.name))],
  );
  return closed.flatMap((partition, i) => (rows[i].valid ? [] : [{ partition, leftover: rows[i].valid === false }]));
}
