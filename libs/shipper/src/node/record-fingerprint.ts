import { createHash } from 'node:crypto';
import { FileHandle } from 'node:fs/promises';
import { FINGERPRINT_BYTES } from '../tracked-file';

/** The most of a file's start read for its first record: a 16 KiB Docker piece escaped six times over fits. */
export const FIRST_RECORD_BYTES = 128 * 1024;
const NEWLINE = 0x0a;
const WHOLE_MARK = ':';

/**
 * What names a node's log file among its container instance's files: its first record. The first
 * bytes alone do not do: a CRI record begins with its time, but a json-file record with its message
 * (its time comes last), and two files may begin with the same piece of text. So the fingerprint is
 * the hex of the first record's first FINGERPRINT_BYTES, then, once that record is whole, a hash of
 * all of it. Taken before the record is whole, it is a prefix of what it becomes.
 */
export function recordFingerprint(head: Buffer): string {
  const newline = head.indexOf(NEWLINE);
  const recordEnd = newline >= 0 ? newline + 1 : Math.min(head.length, FIRST_RECORD_BYTES);
  const shown = head.subarray(0, Math.min(FINGERPRINT_BYTES, recordEnd)).toString('hex');
  if (newline < 0 && head.length < FIRST_RECORD_BYTES) return shown;
  return `${shown}${WHOLE_MARK}${createHash('sha256').update(head.subarray(0, recordEnd)).digest('hex').slice(0, 16)}`;
}

/** Whether the fingerprint was taken once the first record was whole: it is final. */
export function isWholeFingerprint(fingerprint: string): boolean {
  return fingerprint.includes(WHOLE_MARK);
}

let headBuffer: Buffer | null = null;

export async function readRecordFingerprint(handle: FileHandle): Promise<string> {
  headBuffer ??= Buffer.allocUnsafe(FIRST_RECORD_BYTES);
  const { bytesRead } = await handle.read(headBuffer, 0, FIRST_RECORD_BYTES, 0);
  return recordFingerprint(headBuffer.subarray(0, bytesRead));
}
