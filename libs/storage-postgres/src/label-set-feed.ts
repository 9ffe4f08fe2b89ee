import { StoredLabelSet } from '@daylog/storage';
import { PgDatabase } from './pg-database';

/**
 * The label sets with ids above $1; `settled` says whether, once they were read, no other session could still be
 * inserting one (an INSERT holds RowExclusiveLock on `streams` from before it draws its id until its transaction
 * ends). Missing labels are stored as ''.
 */
const LABEL_SETS_AFTER = {
  name: 'daylog_label_sets_after',
  text: `SELECT id, NULLIF(namespace, '') AS namespace, pod, NULLIF(container, '') AS container, NULLIF(source, '') AS source,
                (SELECT NOT EXISTS (
                   SELECT 1 FROM pg_locks
                    WHERE locktype = 'relation' AND relation = 'streams'::regclass AND mode = 'RowExclusiveLock'
                      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
                      AND pid IS DISTINCT FROM pg_backend_pid())) AS settled
           FROM streams WHERE id > $1 ORDER BY id`,
};

/**
 * Label sets as the core's reader asks for them: those above the last id it has. Ids are drawn in order but
 * committed in any order, by several replicas: a label set can become visible after one with a higher id, and
 * a reader that only asked above its highest id would never see it, nor the lines of it (a label filter would
 * hide them). So the ids above `handedOutThrough` are read again each time, and it moves up only to an id every
 * label set below which had been committed or given up before it was read: the highest id of a read after which
 * no session held an insert on `streams` (any id below was drawn before, by an insert that had ended). Label sets
 * handed out again are the same: the reader keeps them once.
 */
export class LabelSetFeed {
  /** Every label set with an id up to this one that will ever be committed has been handed out. */
  private handedOutThrough = 0;
  /** The highest id of the last read when it was settled: every label set up to it is committed by the next read. */
  private settledAtLastRead: number | null = null;

  constructor(private readonly db: PgDatabase) {}

  async after(afterId: number): Promise<StoredLabelSet[]> {
    const settled = this.settledAtLastRead;
    const rows = await this.db.query<StoredLabelSet & { settled: boolean }>(LABEL_SETS_AFTER.text, [Math.min(afterId, this.handedOutThrough)], LABEL_SETS_AFTER.name);
    if (settled !== null) this.handedOutThrough = Math.max(this.handedOutThrough, settled);
    this.settledAtLastRead = rows.length > 0 && rows[0].settled ? rows[rows.length - 1].id : null;
    return rows.map(({ settled: _, ...labelSet }) => labelSet);
  }
}
