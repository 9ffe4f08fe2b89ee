import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { FIRST_RECORD_BYTES, recordFingerprint } from './record-fingerprint';

/** The fingerprint (record-fingerprint) of a gzipped log's content, from as much of it as its first record needs. */
export async function gzippedFingerprint(path: string): Promise<string> {
  const source = createReadStream(path);
  const content = source.pipe(createGunzip());
  source.on('error', (error) => content.destroy(error));
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    for await (const chunk of content as AsyncIterable<Buffer>) {
      chunks.push(chunk);
      length += chunk.length;
      if (length >= FIRST_RECORD_BYTES || chunk.includes(0x0a)) break;
    }
  } finally {
    content.destroy();
    source.destroy();
  }
  return recordFingerprint(Buffer.concat(chunks).subarray(0, FIRST_RECORD_BYTES));
}

/**
 * Writes a gzipped log's content into `target` at the same offsets: its first record (which names it)
 * and everything from `offset` on, the bytes between being a hole never written. Streamed, never
 * whole in memory: a rotated file is read on from where its checkpoint stands, with the offsets and
 * idempotency keys it had before kubelet compressed it.
 */
export async function unpackFrom(gzipped: string, target: string, offset: number): Promise<void> {
  const out = await open(target, 'w', 0o600);
  try {
    const source = createReadStream(gzipped);
    const content = source.pipe(createGunzip());
    source.on('error', (error) => content.destroy(error));
    let position = 0;
    for await (const chunk of content as AsyncIterable<Buffer>) {
      const headEnd = Math.max(0, Math.min(chunk.length, FIRST_RECORD_BYTES - position));
      if (headEnd > 0) await out.write(chunk, 0, headEnd, position);
      const restFrom = Math.max(headEnd, offset - position);
      if (restFrom < chunk.length) await out.write(chunk, restFrom, chunk.length - restFrom, position + restFrom);
      position += chunk.length;
    }
  } finally {
    await out.close();
  }
}
