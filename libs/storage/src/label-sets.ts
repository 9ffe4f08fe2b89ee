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

const LABEL_SEPARATOR = '\u0000';

/**
 * One string per label set, by which an engine finds a label set's id: a missing label is '', as both schemas
 * store it, so the labels of a line and those of its stored row make the same key. Labels hold no control
 * character, so NUL separates them.
 */
export function labelSetKey(labels: LabelSet): string {
  return `${labels.namespace ?? ''}${LABEL_SEPARATOR}${labels.pod}${LABEL_SEPARATOR}${labels.container ?? ''}${LABEL_SEPARATOR}${labels.source ?? ''}`;
}

/** The namespace of the label set a labelSetKey names; '' when it has none. */
export function namespaceOfLabelSetKey(key: string): string {
  return key.slice(0, key.indexOf(LABEL_SEPARATOR));
}

/**
 * How many new label sets a namespace that has `inNamespace` of them may still take: up to a limit, so that one
 * token cannot grow the label sets every reader holds without end. Those a batch brings are admitted in the order
 * its lines first have them; lines of one the namespace has no room for are refused.
 */
export function roomForLabelSets(inNamespace: number, maxPerNamespace: number): number {
  return Math.max(0, maxPerNamespace - inNamespace);
}
