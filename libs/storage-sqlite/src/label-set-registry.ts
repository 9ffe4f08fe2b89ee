import { LabelSet, labelSetKey, namespaceOfLabelSetKey, roomForLabelSets } from '@daylog/storage';
import { CatalogueStatements } from './catalogue';

/**
 * The writer's label sets by their labels, and how many each namespace has: those of the live partitions,
 * since the ones no partition uses any more are forgotten as partitions are dropped. A namespace gets new
 * ones while it has room (roomForLabelSets), so that one token cannot grow the catalogue, and every reader's
 * copy of it, without end. Those a group of batches brings are written to the catalogue together, in one transaction (one
 * fsync) before the lines that use them: a reader that meets a line of an id it does not know yet finds
 * that id in the catalogue.
 */
export class LabelSetRegistry {
  private readonly ids = new Map<string, number>();
  private readonly admitted = new Map<string, LabelSet>();
  /** Label sets by namespace, the admitted ones included. */
  private readonly perNamespace = new Map<string, number>();
  private lastKey: { labels: LabelSet; key: string } | null = null;

  constructor(
    private readonly catalogue: CatalogueStatements,
    private readonly maxPerNamespace: number,
  ) {
    for (const row of catalogue.labelSets()) {
      const key = labelSetKey(row);
      this.ids.set(key, row.id);
      this.count(key, 1);
    }
  }

  /**
   * Whether lines with these labels may be stored: their label set exists, or their namespace has room
   * for a new one, which the next commitAdmitted writes. Returns the label set's key, for idOf; null when refused.
   */
  admit(labels: LabelSet): string | null {
    const key = this.keyOf(labels);
    if (this.ids.has(key) || this.admitted.has(key)) return key;
    if (roomForLabelSets(this.perNamespace.get(namespaceOfLabelSetKey(key)) ?? 0, this.maxPerNamespace) === 0) return null;
    this.admitted.set(key, labels);
    this.count(key, 1);
    return key;
  }

  /** Writes the label sets admitted since the last call to the catalogue, in one transaction. */
  commitAdmitted(): void {
    if (this.admitted.size === 0) return;
    const admitted = [...this.admitted];
    this.admitted.clear();
    let ids: number[];
    try {
      ids = this.catalogue.addLabelSets(admitted.map(([, labels]) => labels));
    } catch (error) {
      for (const [key] of admitted) this.count(key, -1);
      throw error;
    }
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
        this.count(key, -1);
      }
    }
    this.catalogue.removeLabelSets(unused);
    return unused;
  }

  /**
   * A batch's lines mostly have the labels of the line before: their key is then the one already made, which
   * the maps have hashed. Making and hashing a new one for each line took a tenth of the writer's time.
   */
  private keyOf(labels: LabelSet): string {
    const last = this.lastKey;
    if (last && last.labels.pod === labels.pod && last.labels.namespace === labels.namespace && last.labels.container === labels.container && last.labels.source === labels.source) {
      return last.key;
    }
    const { namespace, pod, container, source } = labels;
    const key = labelSetKey(labels);
    this.lastKey = { labels: { namespace, pod, container, source }, key };
    return key;
  }

  private count(key: string, change: number): void {
    const namespace = namespaceOfLabelSetKey(key);
    this.perNamespace.set(namespace, (this.perNamespace.get(namespace) ?? 0) + change);
  }
}
