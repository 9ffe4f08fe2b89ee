import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import { join } from 'node:path';

/** The container instance a node's log file belongs to, from its path under the pods directory. */
export interface ContainerInstance {
  podUid: string;
  container: string;
  restart: number;
}

/** Where shipping of one file stands; keyed by checkpointKey. */
export interface FileCheckpoint {
  path: string;
  dev: number;
  ino: number;
  /** Hex of the file's first bytes when first seen: tells a reused inode from the same file. */
  fingerprint: string;
  /** When the shipper first saw this file: with dev and ino, names it even if its inode is reused later. */
  firstSeenMs: number;
  /** Bumped when the file is truncated in place, so byte ranges (and idempotency keys) never repeat. */
  generation: number;
  /** Everything before this byte is acknowledged by the aggregator. */
  offset: number;
  /**
   * The batches formed after `offset`, in order, acknowledged or not: after a crash they are formed
   * again with the same ranges, so the same keys, and the aggregator stores each once.
   */
  inflight: BatchRange[];
  updatedMs: number;
  /** Node mode: the container instance whose log this is. */
  container?: ContainerInstance;
  /**
   * Node mode: names the file's byte ranges in idempotency keys, fixed when its first bytes are
   * read (its path is reused after every rotation, and inodes are reused).
   */
  identity?: string;
  /**
   * Node mode: read to its end and let go (a rotated or deleted file). Kept while a file of the same
   * first bytes is still there (renamed, or gzipped by kubelet), so that it is not read again.
   */
  finished?: boolean;
}

/** A node's log file by its container instance and its first bytes, never by its path or inode alone. */
export function containerFileIdentity(instance: ContainerInstance, fingerprint: string): string {
  return createHash('sha256')
    .update(`${instance.podUid}/${instance.container}/${instance.restart}:${fingerprint}`)
    .digest('base64url')
    .slice(0, 22);
}

/** The sidecar's files by `${dev}:${ino}`; a node's by container instance and identity (none before its first bytes). */
export function checkpointKey(c: FileCheckpoint): string {
  if (!c.container) return `${c.dev}:${c.ino}`;
  const { podUid, container, restart } = c.container;
  return `${podUid}/${container}/${restart}/${c.identity ?? 'unread'}`;
}

export interface BatchRange {
  start: number;
  end: number;
}

export interface LoadedCheckpoints {
  files: Map<string, FileCheckpoint>;
  /** Why the state file could not be used, when it could not. */
  problem: string | null;
  /**
   * How far the file system's clock (files' mtimes) was ahead of the shipper's (checkpoints' times) at
   * the last save, in whole seconds, rounded down: 0 on one machine's disk, the difference where the
   * volume keeps its own time (a network file system) or the shipper's clock is off.
   */
  fileClockAheadMs: number;
}

interface QueuedWrite {
  write: Promise<void>;
  /** The newest files' checkpoints asked for (JSON), written when the write starts. */
  text: string;
}

const STATE_FILE = 'checkpoints.json';
const VERSION = 2;
/** The state names the pod's files and how far each was read: for the shipper's user alone, whatever its umask. */
const STATE_DIR_MODE = 0o700;
const STATE_FILE_MODE = 0o600;

function isContainerInstance(value: unknown): value is ContainerInstance {
  const i = value as ContainerInstance;
  return typeof i === 'object' && i !== null && typeof i.podUid === 'string' && typeof i.container === 'string' && Number.isSafeInteger(i.restart);
}

function isCheckpoint(value: unknown): value is FileCheckpoint {
  const c = value as FileCheckpoint;
  return (
    typeof c === 'object' && c !== null && typeof c.path === 'string' && Number.isSafeInteger(c.dev) &&
    Number.isSafeInteger(c.ino) && typeof c.fingerprint === 'string' && Number.isSafeInteger(c.generation) && typeof c.firstSeenMs === 'number' &&
    Number.isSafeInteger(c.offset) && c.offset >= 0 && typeof c.updatedMs === 'number' &&
    Array.isArray(c.inflight) && c.inflight.every((r) => Number.isSafeInteger(r?.start) && Number.isSafeInteger(r?.end)) &&
    (c.container === undefined || isContainerInstance(c.container)) &&
    (c.identity === undefined || typeof c.identity === 'string') &&
    (c.finished === undefined || typeof c.finished === 'boolean')
  );
}

/**
 * Offsets on the shared volume, written atomically: a temp file, fsync, rename. The folder is not
 * fsynced: after a power cut the rename may be undone, which brings back the previous checkpoint,
 * an older but consistent state whose in-flight batch is resent under the same key.
 * A state file that does not parse is set aside (checkpoints.json.corrupt-<time>) and shipping starts
 * over from the beginning of each file: duplicates are better than losing lines.
 * Writes run one at a time off the event loop, and saves asked for while one runs are written
 * together once it ends, so the fsync overlaps reading and sending instead of stalling them.
 */
export class CheckpointStore {
  private readonly file: string;
  /** The write under way, or the last one: the next starts after it. */
  private writing: Promise<void> = Promise.resolve();
  /** A write queued behind `writing`, and the newest state it will write. */
  private queued: QueuedWrite | null = null;

  /** `clock` is the one the shipper stamps checkpoints with. */
  constructor(
    dir: string,
    private readonly clock: { now(): number } = Date,
  ) {
    this.file = join(dir, STATE_FILE);
    mkdirSync(dir, { recursive: true, mode: STATE_DIR_MODE });
    // A directory another user owns (a volume's root) is left as it is: its files are private anyway.
    if (statSync(dir).uid === process.getuid?.()) chmodSync(dir, STATE_DIR_MODE);
  }

  load(): LoadedCheckpoints {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { files: new Map(), problem: null, fileClockAheadMs: 0 };
      throw error;
    }
    try {
      const state = JSON.parse(text) as { version: number; savedMs?: unknown; files: Record<string, unknown> };
      if (state.version !== VERSION || typeof state.files !== 'object' || state.files === null) throw new Error(`version ${state.version}`);
      const files = new Map<string, FileCheckpoint>();
      for (const [key, value] of Object.entries(state.files)) {
        if (!isCheckpoint(value)) throw new Error(`entry ${key} is malformed`);
        files.set(key, value);
      }
      return { files, problem: null, fileClockAheadMs: this.fileClockAheadMs(state.savedMs) };
    } catch (error) {
      const aside = `${this.file}.corrupt-${Date.now()}`;
      renameSync(this.file, aside);
      return {
        files: new Map(),
        problem: `${STATE_FILE} is unreadable (${(error as Error).message}); moved to ${aside}, reading every file from its beginning`,
        fileClockAheadMs: 0,
      };
    }
  }

  /**
   * The state file's mtime (the file system's clock) against the shipper's time stamped in it as it
   * was written. The write comes a little after the stamp, so the difference is rounded down to the
   * second: a copy compared a second too early is read twice, one compared too late would be lost.
   */
  private fileClockAheadMs(savedMs: unknown): number {
    if (typeof savedMs !== 'number') return 0;
    return Math.floor((statSync(this.file).mtimeMs - savedMs) / 1000) * 1000;
  }

  /** Resolves once these checkpoints, or newer ones, are on disk. */
  save(files: Iterable<FileCheckpoint>): Promise<void> {
    const text = JSON.stringify(Object.fromEntries([...files].map((c) => [checkpointKey(c), c])));
    if (this.queued) {
      this.queued.text = text;
      return this.queued.write;
    }
    const queued: QueuedWrite = {
      text,
      write: this.writing.then(() => {
        this.queued = null;
        return this.write(queued.text);
      }),
    };
    this.queued = queued;
    this.writing = queued.write.catch(() => undefined);
    return queued.write;
  }

  private async write(text: string): Promise<void> {
    const temp = `${this.file}.tmp`;
    const handle = await open(temp, 'w', STATE_FILE_MODE);
    try {
      // A temp file left by a crash keeps the mode it was made with.
      await handle.chmod(STATE_FILE_MODE);
      await handle.writeFile(`{"version":${VERSION},"savedMs":${this.clock.now()},"files":${text}}`);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, this.file);
  }
}
