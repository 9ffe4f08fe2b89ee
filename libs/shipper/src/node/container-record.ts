import { parseTimestamp } from '@daylog/log-model';
import { criTimeMs } from './cri-time';

/** How a container runtime writes a log file: CRI (containerd, CRI-O) or Docker's json-file. */
export type ContainerLogFormat = 'cri' | 'docker';
export type RecordStream = 'stdout' | 'stderr' | 'unknown';

/** One raw line of a container log file, read. */
export interface ContainerRecord {
  /** Epoch ms (finer digits cut); null for a line in neither format. */
  tsMs: number | null;
  /** `unknown` for a line in neither format: it is shipped whole, as it is. */
  stream: RecordStream;
  /** A piece of a longer line: the next record of its stream continues it. */
  partial: boolean;
  /** Bytes, not text: a UTF-8 character may be split between two CRI pieces. May share the caller's buffer. */
  message: Buffer;
}

const SPACE = 0x20;
const OPEN_BRACE = 0x7b;
const RFC3339_DATE = /^\d{4}-\d{2}-\d{2}T/;

function isStream(value: unknown): value is 'stdout' | 'stderr' {
  return value === 'stdout' || value === 'stderr';
}

/** A CRI or json-file time; RFC 3339 only (epoch digits, which parseTimestamp also reads, are not a runtime's). */
function runtimeTime(text: string): number | undefined {
  return RFC3339_DATE.test(text) ? parseTimestamp(text) : undefined;
}

const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');
const COLON = 0x3a;
const PIECE_TAG = 0x50;
const FULL_TAG = 0x46;

/** Whether `line[from, to)` holds exactly the bytes of `word`. */
function bytesAre(line: Buffer, from: number, to: number, word: Buffer): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (line[from + i] !== word[i]) return false;
  return true;
}

/**
 * `<time> <stdout|stderr> <tags> <message>`: split at the first three spaces only, the message being
 * every byte after (spaces, nothing, or bytes that are not UTF-8). Only the first `:`-separated tag
 * is read, as kubelet does (`P` a piece, `F` the last or only one), so later tags may be added.
 * Read from the bytes, without a string for each field: this runs for every record.
 */
function parseCri(line: Buffer): ContainerRecord | undefined {
  const afterTime = line.indexOf(SPACE);
  const afterStream = afterTime < 0 ? -1 : line.indexOf(SPACE, afterTime + 1);
  const afterTags = afterStream < 0 ? -1 : line.indexOf(SPACE, afterStream + 1);
  if (afterTags < 0) return undefined;
  const stream = bytesAre(line, afterTime + 1, afterStream, STDOUT) ? 'stdout' : bytesAre(line, afterTime + 1, afterStream, STDERR) ? 'stderr' : undefined;
  const tag = line[afterStream + 1];
  const oneLetterTag = afterStream + 2 === afterTags || line[afterStream + 2] === COLON;
  if (!stream || (tag !== PIECE_TAG && tag !== FULL_TAG) || !oneLetterTag) return undefined;
  const tsMs = criTimeMs(line, afterTime) ?? runtimeTime(line.toString('latin1', 0, afterTime));
  if (tsMs === undefined) return undefined;
  return { tsMs, stream, partial: tag === PIECE_TAG, message: line.subarray(afterTags + 1) };
}

/**
 * `{"log":"…\n","stream":"stdout","time":"…Z"}`. A `log` without its final `\n` is a piece (Docker
 * cuts at 16 KiB and has already replaced a character cut there with U+FFFD, so the piece is text).
 */
function parseDocker(line: Buffer): ContainerRecord | undefined {
  if (line[0] !== OPEN_BRACE) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(line.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { log, stream, time } = value as Record<string, unknown>;
  if (typeof log !== 'string' || !isStream(stream)) return undefined;
  const tsMs = runtimeTime(typeof time === 'string' ? time : '');
  if (tsMs === undefined) return undefined;
  const partial = !log.endsWith('\n');
  return { tsMs, stream, partial, message: Buffer.from(partial ? log : log.slice(0, -1)) };
}

const PARSERS: Record<ContainerLogFormat, (line: Buffer) => ContainerRecord | undefined> = { cri: parseCri, docker: parseDocker };

/** A line in neither format: shipped as it is, never dropped. */
export function unknownRecord(line: Buffer): ContainerRecord {
  return { tsMs: null, stream: 'unknown', partial: false, message: line };
}

/** The format a line is written in, if it is in one (a line starting with `{` may only be json-file). */
export function detectFormat(line: Buffer): ContainerLogFormat | undefined {
  if (line[0] === OPEN_BRACE) return parseDocker(line) ? 'docker' : undefined;
  return parseCri(line) ? 'cri' : undefined;
}

/** `line` without its newline; a line that fails its file's format is an unknown record. */
export function parseRecord(format: ContainerLogFormat | undefined, line: Buffer): ContainerRecord {
  return (format && PARSERS[format](line)) || unknownRecord(line);
}

/**
 * Reads one file's lines. Its format is that of its first line in either format, from the file's
 * own content (a node may hold both, and Docker's files are reached through links named like CRI's);
 * lines before that one are unknown records, so a damaged first line does not make the whole file so.
 */
export class RecordReader {
  format: ContainerLogFormat | undefined;

  read(line: Buffer): ContainerRecord {
    this.format ??= detectFormat(line);
    return parseRecord(this.format, line);
  }
}
