/** A label set: the labels lines are stored under once, by id ("streams" in the schema, as Loki's streams). */
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
