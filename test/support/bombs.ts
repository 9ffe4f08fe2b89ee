import { gzipSync } from 'node:zlib';
import { compress } from 'snappyjs';

/** Protobuf's base-128 varint. */
export function varint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value;
  while (rest > 0x7f) {
    bytes.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

/** A length-delimited field (wire type 2). */
export function lengthDelimited(field: number, payload: Buffer | string): Buffer {
  const bytes = Buffer.from(payload);
  return Buffer.concat([varint((field << 3) | 2), varint(bytes.length), bytes]);
}

export function snappy(bytes: Buffer): Buffer {
  return Buffer.from(compress(new Uint8Array(bytes)));
}

export interface PushEntry {
  ms: number;
  line: string;
  metadata?: Record<string, string>;
}

/** A logproto.PushRequest, snappy-compressed as Loki's clients send it. */
export function protobufPush(streams: { labels: string; entries: PushEntry[] }[]): Buffer {
  const entry = ({ ms, line, metadata = {} }: PushEntry) =>
    Buffer.concat([
      lengthDelimited(1, Buffer.concat([Buffer.from([0x08]), varint(Math.floor(ms / 1000)), Buffer.from([0x10]), varint((ms % 1000) * 1_000_000)])),
      lengthDelimited(2, line),
      ...Object.entries(metadata).map(([name, value]) => lengthDelimited(3, Buffer.concat([lengthDelimited(1, name), lengthDelimited(2, value)]))),
    ]);
  const stream = ({ labels, entries }: { labels: string; entries: PushEntry[] }) =>
    lengthDelimited(1, Buffer.concat([lengthDelimited(1, labels), ...entries.map((e) => lengthDelimited(2, entry(e)))]));
  return snappy(Buffer.concat(streams.map(stream)));
}

/** A small gzip body that inflates to millions of lines or objects; `error` is what its 413 must say. */
export interface Bomb {
  name: string;
  path: string;
  contentType: string;
  /** Sent with Content-Encoding: gzip. */
  body: Buffer;
  error: RegExp;
}

/** 16 MiB, the default DAYLOG_MAX_BODY_BYTES: the most a body may inflate to (a protobuf's snappy block as well). */
const INFLATED_BYTES = 16 * 1024 * 1024;
/** Room for what wraps the repeated part of a protobuf push: its labels and the length of its stream. */
const WRAPPER_BYTES = 64;

/** `unit` repeated (joined by `separator`) between `before` and `after`, up to `bytes` in all. */
function repeated(unit: string | Buffer, { before = '', after = '', separator = '', bytes = INFLATED_BYTES } = {}): Buffer {
  const piece = Buffer.concat([Buffer.from(unit), Buffer.from(separator)]);
  const count = Math.floor((bytes - before.length - after.length + separator.length) / piece.length);
  const body = Buffer.alloc(count * piece.length).fill(piece);
  return Buffer.concat([Buffer.from(before), body.subarray(0, body.length - separator.length), Buffer.from(after)]);
}

/** A PushRequest of one stream of the bomb's pod, snappy-compressed; `entries` are its entry fields. */
function protobufStream(entries: Buffer): Buffer {
  return snappy(lengthDelimited(1, Buffer.concat([lengthDelimited(1, `{pod="${BOMB_POD}"}`), entries])));
}

/** What fits in a protobuf bomb beside its wrapping. */
const protobufFill = (field: number[]) => repeated(Buffer.from(field), { bytes: INFLATED_BYTES - WRAPPER_BYTES });

/** Lines a bomb did get in would be stored under this pod. */
export const BOMB_POD = 'bomb';
const BOMB_INGEST = `/api/v1/logs?pod=${BOMB_POD}`;

const TOO_MANY_LINES = /^the request has more than \d+ (lines|entries) \(DAYLOG_MAX_LINES_PER_REQUEST\): split the batch/;
const TOO_MANY_OBJECTS = /^the body holds more than \d+ .*, more than \d+ lines \(DAYLOG_MAX_LINES_PER_REQUEST\) can need: split the batch/;

/** Millions of lines, entries or objects in 16 MiB once inflated, each sent as a gzip body of about 1–20 KB. */
export function bombs(): Bomb[] {
  const half = INFLATED_BYTES / 2;
  const inflated: (Omit<Bomb, 'body'> & { inflated: Buffer })[] = [
    { name: 'text of empty lines', path: BOMB_INGEST, contentType: 'text/plain', inflated: repeated('\n'), error: TOO_MANY_LINES },
    { name: 'text of one-letter lines', path: BOMB_INGEST, contentType: 'text/plain', inflated: repeated('x\n'), error: TOO_MANY_LINES },
    { name: 'NDJSON of empty objects', path: BOMB_INGEST, contentType: 'application/x-ndjson', inflated: repeated('{}\n'), error: TOO_MANY_LINES },
    { name: 'an NDJSON line of empty objects', path: BOMB_INGEST, contentType: 'application/x-ndjson', inflated: repeated('{}', { before: '[', after: ']', separator: ',' }), error: TOO_MANY_OBJECTS },
    { name: 'a JSON array of empty objects', path: BOMB_INGEST, contentType: 'application/json', inflated: repeated('{}', { before: '[', after: ']', separator: ',' }), error: TOO_MANY_OBJECTS },
    { name: 'a JSON batch of empty lines', path: BOMB_INGEST, contentType: 'application/json', inflated: repeated('{}', { before: '{"lines":[', after: ']}', separator: ',' }), error: TOO_MANY_OBJECTS },
    { name: 'JSON nested 8 M deep', path: BOMB_INGEST, contentType: 'application/json', inflated: Buffer.concat([Buffer.alloc(half, '['), Buffer.alloc(half, ']')]), error: TOO_MANY_OBJECTS },
    { name: 'a Loki JSON push of empty entries', path: '/loki/api/v1/push', contentType: 'application/json', inflated: repeated('[]', { before: `{"streams":[{"stream":{"pod":"${BOMB_POD}"},"values":[`, after: ']}]}', separator: ',' }), error: TOO_MANY_OBJECTS },
    { name: 'a Loki protobuf push of 8 M empty entries', path: '/loki/api/v1/push', contentType: 'application/x-protobuf', inflated: protobufStream(protobufFill([0x12, 0x00])), error: TOO_MANY_LINES },
    { name: 'a Loki protobuf push of 8 M empty streams', path: '/loki/api/v1/push', contentType: 'application/x-protobuf', inflated: snappy(repeated(Buffer.from([0x0a, 0x00]))), error: TOO_MANY_OBJECTS },
    { name: 'a Loki protobuf entry with 8 M empty metadata pairs', path: '/loki/api/v1/push', contentType: 'application/x-protobuf', inflated: protobufStream(lengthDelimited(2, protobufFill([0x1a, 0x00]))), error: TOO_MANY_OBJECTS },
  ];
  return inflated.map(({ inflated: bytes, ...bomb }) => ({ ...bomb, body: gzipSync(bytes, { level: 9 }) }));
}
