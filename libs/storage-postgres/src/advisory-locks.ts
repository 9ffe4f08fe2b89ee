import { createHash } from 'node:crypto';

/**
 * The advisory locks replicas coordinate writes by. A lock of one number is spelled "daylog <letter>" in ASCII,
 * as the migrator's and the partition maker's are, so that nothing else picks it. A lock on a name (an
 * idempotency key, a namespace) is the two-number form: a class, and the name's hash; PostgreSQL keeps the two
 * forms apart. Two names of one hash only take turns.
 */

/** Taken shared by every batch, exclusive by the pruner when it forgets label sets: no batch writes lines of one being forgotten. */
export const LABEL_SETS_LOCK = 0x6461796c6f67206cn;

/**
 * Held for a prune run, or a word index build (WordIndexBuilder), on its session: one replica at a time does either
 * (so a DETACH … CONCURRENTLY never waits for a build of its partition), and a replica that dies lets go of it.
 */
export const PRUNER_LOCK = 0x6461796c6f672072n;

const KEY_CLASS = 0x646b6579;
const NAMESPACE_CLASS = 0x646e7370;

export type NamedLock = readonly [lockClass: number, hash: number];

function hashOf(name: string | Buffer): number {
  return createHash('sha256').update(name).digest().readInt32BE(0);
}

/** Batches with one idempotency key take turns: the second finds the first's key once it is committed. */
export function keyLock(storedKey: Buffer): NamedLock {
  return [KEY_CLASS, hashOf(storedKey)];
}

/** A namespace admits one new label set at a time, so that two replicas cannot both admit its last one. */
export function namespaceLock(namespace: string): NamedLock {
  return [NAMESPACE_CLASS, hashOf(namespace)];
}
