/**
 * A label set: the labels lines are stored under once, by id. The schema of both engines names it a stream (the
 * `streams` table, the `stream_id` columns), as the stored data has it and keeps it; in code a stream is Loki's
 * alone (libs/loki), whose labels hold the level too.
 */
export interface LabelSet {
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
}

/** A label set as stored, with the id lines carry. */
export interface StoredLabelSet extends LabelSet {
  id: number;
}
