import { Catalogue, StreamLabels } from './catalogue';

function labelSetKey(labels: StreamLabels): string {
  return `${labels.namespace ?? ''}\u0000${labels.pod}\u0000${labels.container ?? ''}\u0000${labels.source ?? ''}`;
}

/**
 * The writer's label sets by their labels. Those a group of batches brings are written to the catalogue
 * together, in one transaction (one fsync) before the lines that use them: a reader that meets a line of
 * an id it does not know yet finds that id in the catalogue.
 */
export class LabelSetRegistry {
  private readonly ids = new Map<string, number>();
  private readonly admitted = new Map<string, StreamLabels>();

  constructor(private readonly catalogue: Catalogue) {
    for (const row of catalogue.streams()) this.ids.set(labelSetKey(row), row.id);
  }

  /**
   * Lines with these labels are to be stored: a new label set is written by the next commitAdmitted.
   * Returns the label set's key, for idOf.
   */
  admit(labels: StreamLabels): string {
    const key = labelSetKey(labels);
    if (!this.ids.has(key)) this.admitted.set(key, labels);
    return key;
  }

  /** Writes the label sets admitted since the last call to the catalogue, in one transaction. */
  commitAdmitted(): void {
    if (this.admitted.size === 0) return;
    const admitted = [...this.admitted];
    this.admitted.clear();
    const ids = this.catalogue.addStreams(admitted.map(([, labels]) => labels));
    admitted.forEach(([key], i) => this.ids.set(key, ids[i]));
  }

  /** The id of an admitted label set, by the key admit gave, once committed. */
  idOf(key: string): number {
    return this.ids.get(key)!;
  }

  /** Forgets, in the catalogue too, the label sets no partition uses any more; returns their ids. */
  forgetUnused(used: ReadonlySet<number>): number[] {
    const unused: number[] = [];
    for (const [key, id] of this.ids) {
      if (!used.has(id)) {
        unused.push(id);
        this.ids.delete(key);
      }
    }
    this.catalogue.removeStreams(unused);
    return unused;
  }
}
