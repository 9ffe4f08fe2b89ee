import { PoolClient } from 'pg';
import { LabelSet, labelSetKey, roomForLabelSets } from '@daylog/storage';
import { namespaceLock } from './advisory-locks';

/** A label set as `streams` stores it: a missing label is ''. */
interface LabelColumns {
  namespace: string;
  pod: string;
  container: string;
  source: string;
}

/** A label set's row, with the id its lines carry. */
interface StoredLabelColumns extends LabelColumns {
  id: number;
}

function columnsOf(labels: LabelSet): LabelColumns {
  return { namespace: labels.namespace ?? '', pod: labels.pod, container: labels.container ?? '', source: labels.source ?? '' };
}

function asArrays(labelSets: readonly LabelColumns[]): string[][] {
  return [labelSets.map((l) => l.namespace), labelSets.map((l) => l.pod), labelSets.map((l) => l.container), labelSets.map((l) => l.source)];
}

const FIND = `SELECT s.id, s.namespace, s.pod, s.container, s.source
                FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS w (namespace, pod, container, source)
                JOIN streams s ON s.namespace = w.namespace AND s.pod = w.pod AND s.container = w.container AND s.source = w.source`;
const COUNT_IN_NAMESPACE = 'SELECT count(*)::int AS n FROM streams WHERE namespace = $1';
const INSERT = `INSERT INTO streams (namespace, pod, container, source)
                SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
                RETURNING id, namespace, pod, container, source`;

/**
 * The ids of a batch's label sets, in its transaction. Known ones are looked up (never inserted on the
 * chance: a conflicting insert burns an id). A new one is admitted under its namespace's advisory lock,
 * held until the batch commits, while the namespace has fewer than the most allowed: replicas admitting
 * new label sets of one namespace take turns, and each counts those the others committed. Label sets the
 * namespace has no room for (roomForLabelSets, the core's rule) get no id: their lines are refused. Those
 * first seen in the batch are admitted first.
 */
export class LabelSetAdmission {
  constructor(private readonly maxPerNamespace: number) {}

  /** `labelSets` by labelSetKey, in the order the batch first has them; returns the ids by the same keys. */
  async resolve(client: PoolClient, labelSets: ReadonlyMap<string, LabelSet>): Promise<Map<string, number>> {
    const wanted = [...labelSets.values()].map(columnsOf);
    const ids = await this.find(client, wanted);
    const missing = wanted.filter((labels) => !ids.has(labelSetKey(labels)));
    const byNamespace = new Map<string, LabelColumns[]>();
    for (const labels of missing) byNamespace.set(labels.namespace, [...(byNamespace.get(labels.namespace) ?? []), labels]);
    // Locks in one order, the locks' own, whatever the namespaces' names: two batches never wait on each other in a circle.
    const namespaces = [...byNamespace.keys()].map((namespace) => ({ namespace, lock: namespaceLock(namespace) }));
    namespaces.sort((a, b) => a.lock[0] - b.lock[0] || a.lock[1] - b.lock[1]);
    for (const { namespace, lock } of namespaces) {
      await client.query('SELECT pg_advisory_xact_lock($1::int, $2::int)', [...lock]);
      let candidates = byNamespace.get(namespace)!;
      // Another replica may have admitted some while this one waited for the lock.
      for (const [key, id] of await this.find(client, candidates)) ids.set(key, id);
      candidates = candidates.filter((labels) => !ids.has(labelSetKey(labels)));
      if (candidates.length === 0) continue;
      const { rows } = await client.query<{ n: number }>({ text: COUNT_IN_NAMESPACE, values: [namespace], name: 'daylog-count-label-sets' });
      const admitted = candidates.slice(0, roomForLabelSets(rows[0].n, this.maxPerNamespace));
      if (admitted.length === 0) continue;
      const inserted = await client.query<StoredLabelColumns>(INSERT, asArrays(admitted));
      for (const row of inserted.rows) ids.set(labelSetKey(row), row.id);
    }
    return ids;
  }

  private async find(client: PoolClient, labelSets: readonly LabelColumns[]): Promise<Map<string, number>> {
    const { rows } = await client.query<StoredLabelColumns>({ text: FIND, values: asArrays(labelSets), name: 'daylog-find-label-sets' });
    return new Map(rows.map((row) => [labelSetKey(row), row.id]));
  }
}
