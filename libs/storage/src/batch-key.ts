import { PartitionBounds } from './partitions';

/**
 * What a batch's Idempotency-Key is stored as: the key within the namespaces of the token that sent it, so
 * that a key used under one scope never makes another scope's batch a duplicate, nor tells it the key is in
 * use. Tokens limited to the same namespaces share keys (a rotated token still recognises what its
 * predecessor sent); unlimited tokens, and open installs, keep the bare key, as keys were stored before
 * scopes. A scope's namespace names hold no NUL, nor can a key (HTTP refuses it in a header), so two
 * different scopes and keys never make the same stored key.
 */
export function batchKey(idempotencyKey: string, namespaces: readonly string[] | null): string {
  return namespaces === null ? idempotencyKey : `${[...namespaces].sort().join('|')}\u0000${idempotencyKey}`;
}

/**
 * Where a batch's idempotency key is filed, given where its newest stored line is and where it arrived (undefined:
 * its arrival is in no live partition): with the newest line, in its partition, so that the key is committed with
 * the batch's newest lines and lives as long as they do; and again under the arrival when that partition is newer,
 * so that a sender catching up on old lines is still recognised for the whole retention after it sent them.
 */
export function keyFilings<Place extends { partition: PartitionBounds }>(newestLine: Place, arrival: Place | undefined): Place[] {
  return arrival && arrival.partition.startMs > newestLine.partition.startMs ? [newestLine, arrival] : [newestLine];
}
