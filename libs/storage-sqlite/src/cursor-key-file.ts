import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CURSOR_KEY_BYTES } from '@daylog/storage';
import { PRIVATE_FILE_MODE, makeFilesPrivate } from './private-files';

export const CURSOR_KEY_FILE = 'cursor.key';

/** The data directory's cursor key, made on first use and kept for its user alone. */
export function cursorKeyOfDataDir(dataDir: string): Buffer {
  const file = join(dataDir, CURSOR_KEY_FILE);
  try {
    writeFileSync(file, randomBytes(CURSOR_KEY_BYTES), { flag: 'wx', mode: PRIVATE_FILE_MODE });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  makeFilesPrivate([file]);
  const key = readFileSync(file);
  if (key.length !== CURSOR_KEY_BYTES) {
    throw new Error(`${file} is not a cursor key (${key.length} bytes, not ${CURSOR_KEY_BYTES}): remove it to make a new one (cursors given out so far stop working)`);
  }
  return key;
}
