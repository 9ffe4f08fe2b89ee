import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

/**
 * A node's `/var/log/pods` as kubelet and a container runtime write it (../shared/NODE-MODE.md §1–2), under a
 * temp dir, for the node agent's tests and bench: the runtimes' line formats and how they cut long lines, and
 * kubelet's rotation (rename, reopen, compress the previous copy, keep a few) and deletion.
 */
export type Runtime = 'containerd' | 'cri-o' | 'docker';
export type Stream = 'stdout' | 'stderr';

export interface ContainerRef {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  /** The restart count: the file is `<restart>.log`. */
  restart?: number;
}

/** containerd's `max_container_log_line_size` default: longer lines go as pieces of exactly this many bytes. */
export const CONTAINERD_PIECE_BYTES = 16_384;
/** conmon reads the container's pipe this many bytes at a time; a read ending inside a line makes a piece. */
export const CONMON_READ_BYTES = 8_192;
/** Docker's json-file driver cuts lines at 16 KiB. */
export const DOCKER_PIECE_BYTES = 16_384;
/** CRI-O writes the node's local time: this node's offset. */
const CRIO_OFFSET_MINUTES = 120;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** RFC 3339 with nanoseconds, trailing zeros trimmed (Go's RFC3339Nano): `…:05.1203Z`, `…:05Z`. */
function goNanoTime(ms: number, nanos: number): string {
  const fraction = `${pad(ms % 1000, 3)}${pad(nanos, 6)}`.replace(/0+$/, '');
  return `${new Date(ms - (ms % 1000)).toISOString().slice(0, 19)}${fraction ? `.${fraction}` : ''}Z`;
}

/** conmon's local time: always nine digits and a numeric offset. */
function conmonTime(ms: number, nanos: number): string {
  const local = new Date(ms + CRIO_OFFSET_MINUTES * 60_000).toISOString().slice(0, 19);
  const sign = CRIO_OFFSET_MINUTES >= 0 ? '+' : '-';
  const offset = Math.abs(CRIO_OFFSET_MINUTES);
  return `${local}.${pad(ms % 1000, 3)}${pad(nanos, 6)}${sign}${pad(Math.floor(offset / 60))}:${pad(offset % 60)}`;
}

/** kubelet's name for a rotated copy: `0.log.20261205-120000`. */
export function rotatedName(restart: number, nowMs: number): string {
  const t = new Date(nowMs);
  return `${restart}.log.${t.getUTCFullYear()}${pad(t.getUTCMonth() + 1)}${pad(t.getUTCDate())}-${pad(t.getUTCHours())}${pad(t.getUTCMinutes())}${pad(t.getUTCSeconds())}`;
}

/** Go's JSON encoding, as Docker's json-file driver writes it: `<`, `>` and `&` escaped. */
const goJson = (value: object) => JSON.stringify(value).replace(/[<>&]/g, (c) => `\\u00${c.charCodeAt(0).toString(16).padStart(2, '0')}`);

export class FakeNode {
  readonly podsDir: string;
  /** Where Docker keeps its containers' json-file logs, which a Docker node's `N.log` links to. */
  readonly dockerDir: string;
  private readonly containers: FakeContainer[] = [];

  constructor(
    readonly root: string,
    readonly runtime: Runtime,
  ) {
    this.podsDir = join(root, 'var', 'log', 'pods');
    this.dockerDir = join(root, 'var', 'lib', 'docker', 'containers');
    mkdirSync(this.podsDir, { recursive: true });
    if (runtime === 'docker') mkdirSync(this.dockerDir, { recursive: true });
  }

  /** A container's log starting now: its pod's and container's folders made as kubelet makes them. */
  start(ref: ContainerRef): FakeContainer {
    const container = new FakeContainer(this, ref);
    this.containers.push(container);
    return container;
  }

  podDir({ namespace, pod, uid }: Pick<ContainerRef, 'namespace' | 'pod' | 'uid'>): string {
    return join(this.podsDir, `${namespace}_${pod}_${uid}`);
  }

  /** The pod deleted: its containers stop and kubelet's garbage collection removes its folder. */
  deletePod(uid: string): void {
    for (const container of this.containers.filter((c) => c.ref.uid === uid)) container.stop();
    for (const entry of readdirSync(this.podsDir)) if (entry.endsWith(`_${uid}`)) rmSync(join(this.podsDir, entry), { recursive: true, force: true });
  }

  stopAll(): void {
    for (const container of this.containers) container.stop();
  }
}

/** One container instance's log, written as its runtime writes it. */
export class FakeContainer {
  readonly restart: number;
  readonly dir: string;
  /** `<restart>.log` in the pods folder (on a Docker node, a link to Docker's file). */
  readonly path: string;
  /** The file the runtime writes: `path` itself, or on a Docker node the json-file it links to. */
  private readonly target: string;
  private fd: number | null;
  /** Nanoseconds added to each line's time, so that lines of one millisecond keep their order, as a runtime's clock does. */
  private nanos = 0;
  /** Bytes conmon has read of each stream: where its reads end. */
  private readonly conmonRead: Record<Stream, number> = { stdout: 0, stderr: 0 };

  constructor(
    readonly node: FakeNode,
    readonly ref: ContainerRef,
  ) {
    this.restart = ref.restart ?? 0;
    this.dir = join(node.podDir(ref), ref.container);
    mkdirSync(this.dir, { recursive: true });
    this.path = join(this.dir, `${this.restart}.log`);
    if (node.runtime === 'docker') {
      const id = `${ref.uid.replace(/-/g, '')}${ref.container}${this.restart}`.padEnd(64, '0').slice(0, 64);
      mkdirSync(join(node.dockerDir, id), { recursive: true });
      this.target = join(node.dockerDir, id, `${id}-json.log`);
      writeFileSync(this.target, '');
      symlinkSync(this.target, this.path);
    } else {
      this.target = this.path;
    }
    this.fd = openSync(this.target, 'a');
  }

  /** One line the app wrote (without its newline), as the runtime records it: cut into pieces where it cuts. */
  write(stream: Stream, line: string | Buffer, tsMs: number): void {
    this.writeRaw(this.records(stream, line, tsMs, true));
  }

  /** The end of a stream whose last line has no newline: a last piece that no other ever follows. */
  writeUnfinished(stream: Stream, text: string | Buffer, tsMs: number): void {
    this.writeRaw(this.records(stream, text, tsMs, false));
  }

  /**
   * The records the runtime writes for one line, without writing them: for tests that interleave two streams'
   * pieces as containerd's two goroutines do. `ended` false: the line never got its newline.
   */
  records(stream: Stream, line: string | Buffer, tsMs: number, ended = true): Buffer[] {
    let content = Buffer.isBuffer(line) ? line : Buffer.from(line);
    const runtime = this.node.runtime;
    // containerd strips a trailing \r\n whole; conmon and Docker keep the \r.
    if (runtime === 'containerd' && ended && content.at(-1) === 0x0d) content = content.subarray(0, -1);
    const pieces = runtime === 'cri-o' ? this.conmonPieces(stream, content, ended) : this.fixedPieces(content, runtime === 'docker' ? DOCKER_PIECE_BYTES : CONTAINERD_PIECE_BYTES);
    return pieces.map((piece, i) => {
      const last = i === pieces.length - 1 && ended;
      const nanos = (this.nanos = (this.nanos + 1) % 1_000_000);
      if (runtime === 'docker') {
        const log = piece.toString('utf8') + (last ? '\n' : '');
        return Buffer.from(`${goJson({ log, stream, time: goNanoTime(tsMs, nanos) })}\n`);
      }
      const time = runtime === 'cri-o' ? conmonTime(tsMs, nanos) : goNanoTime(tsMs, nanos);
      return Buffer.concat([Buffer.from(`${time} ${stream} ${last ? 'F' : 'P'} `), piece, Buffer.from('\n')]);
    });
  }

  /** Records as they are, in this order, in one write each. */
  writeRaw(records: Buffer[]): void {
    if (this.fd === null) throw new Error(`${this.path}: the container has stopped`);
    for (const record of records) writeSync(this.fd, record);
  }

  /**
   * kubelet's rotation (container_log_manager.go): rotated copies beyond `maxFiles` removed, the previous
   * plain copy compressed (`.tmp`, then `.gz`, the plain file removed), the current file renamed to
   * `<restart>.log.<time>`, and the runtime asked to reopen its log. With `reopen` false the runtime goes on
   * writing into the renamed file until reopen(): lines that land after the rename. On a Docker node Docker
   * rotates its own file (`-json.log.1`); the link keeps naming the current one. Returns the renamed path.
   */
  rotate(nowMs: number, { reopen = true, maxFiles = 5 }: { reopen?: boolean; maxFiles?: number } = {}): string {
    if (this.node.runtime === 'docker') {
      const rotated = `${this.target}.1`;
      renameSync(this.target, rotated);
      if (reopen) this.reopen();
      return rotated;
    }
    for (const plain of this.rotatedCopies().filter((name) => !name.endsWith('.gz'))) this.compress(plain);
    const copies = this.rotatedCopies();
    for (const old of copies.slice(0, Math.max(0, copies.length - (maxFiles - 2)))) unlinkSync(join(this.dir, old));
    const rotated = join(this.dir, rotatedName(this.restart, nowMs));
    if (existsSync(rotated)) throw new Error(`${rotated} exists: rotate with a later time`);
    renameSync(this.path, rotated);
    if (reopen) this.reopen();
    return rotated;
  }

  /** The runtime reopens its log at its path: a new, empty file. */
  reopen(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = openSync(this.target, 'a');
  }

  /** The container stopped: the runtime closes its log. */
  stop(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  /** This instance's rotated copies, oldest first (their names sort by time). */
  rotatedCopies(): string[] {
    const prefix = `${this.restart}.log.`;
    return readdirSync(this.dir)
      .filter((name) => name.startsWith(prefix) && !name.endsWith('.tmp'))
      .sort();
  }

  private compress(name: string): void {
    const plain = join(this.dir, name);
    const tmp = `${plain}.tmp`;
    writeFileSync(tmp, gzipSync(readFileSync(plain)));
    renameSync(tmp, `${plain}.gz`);
    unlinkSync(plain);
  }

  /** containerd and Docker: pieces of exactly `size` bytes (a UTF-8 character may be cut), then the rest. */
  private fixedPieces(content: Buffer, size: number): Buffer[] {
    const pieces: Buffer[] = [];
    let at = 0;
    while (content.length - at > size) {
      pieces.push(content.subarray(at, at + size));
      at += size;
    }
    pieces.push(content.subarray(at));
    return pieces;
  }

  /**
   * conmon: a piece ends wherever one of its 8 KiB reads of the stream ends inside the line; the newline is read
   * too, so a read that ends just before it leaves an empty last piece.
   */
  private conmonPieces(stream: Stream, content: Buffer, ended: boolean): Buffer[] {
    const pieces: Buffer[] = [];
    const total = content.length + (ended ? 1 : 0);
    for (let at = 0; at < total; ) {
      const take = Math.min(CONMON_READ_BYTES - (this.conmonRead[stream] % CONMON_READ_BYTES), total - at);
      pieces.push(content.subarray(Math.min(at, content.length), Math.min(at + take, content.length)));
      at += take;
      this.conmonRead[stream] += take;
    }
    return pieces.length > 0 ? pieces : [content];
  }
}
