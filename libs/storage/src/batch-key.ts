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
