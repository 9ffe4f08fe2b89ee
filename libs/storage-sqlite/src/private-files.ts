import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';

/**
 * The data directory holds every team's logs: only the user Daylog runs as may read it, whatever
 * the process's umask. SQLite gives the -wal, -shm and -journal files it creates the mode of their
 * database (its unix VFS copies it and fchmods them past the umask), so a database file made 0600
 * before SQLite opens it covers the files SQLite creates on its own.
 */
export const PRIVATE_FILE_MODE = 0o600;
const PRIVATE_DIR_MODE = 0o700;

/**
 * A directory made 0700 if missing, and made 0700 again if Daylog's user owns it (an older Daylog made
 * it readable to others); one that another user owns, such as a volume's root, is left as it is.
 */
export function makePrivateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (statSync(dir).uid === process.getuid?.()) chmodSync(dir, PRIVATE_DIR_MODE);
}

/** Existing files made 0600: those an older Daylog left readable to others. */
export function makeFilesPrivate(files: readonly string[]): void {
  for (const file of files) {
    try {
      chmodSync(file, PRIVATE_FILE_MODE);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** A database file created empty and private if missing, before SQLite creates it readable to others; 0600 either way, with its -wal and -shm. */
export function makeDatabasePrivate(file: string): void {
  try {
    closeSync(openSync(file, 'wx', PRIVATE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  makeFilesPrivate([file, `${file}-wal`, `${file}-shm`]);
}
