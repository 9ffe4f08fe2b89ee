import protobuf from 'protobufjs';
import { uncompress } from 'snappyjs';
import { PushLimits, PushTooLarge, protobufPushEntries, snappyDeclaredLength } from './push-limits';
import { parseStreamLabels } from './stream-labels';

/**
 * One log line of a push. Its time is read here by Loki's protocol (nanoseconds, cut to the
 * millisecond) and handed on as a Date, which Daylog's own reading of epoch digits by their count
 * takes as it is; an Invalid Date when the push's text was not a time.
 */
export interface LokiEntry {
  ts: Date;
  line: string;
  metadata: Record<string, string>;
}

export interface LokiStream {
  labels: Record<string, string>;
  entries: LokiEntry[];
}

/** The part of Loki's logproto a push uses (google.protobuf.Timestamp is wire-compatible with Timestamp here). */
const PUSH_PROTO = `
  syntax = "proto3";
  package logproto;
  message PushRequest { repeated StreamAdapter streams = 1; }
  message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
  message EntryAdapter { Timestamp timestamp = 1; string line = 2; repeated LabelPairAdapter structuredMetadata = 3; }
  message LabelPairAdapter { string name = 1; string value = 2; }
  message Timestamp { int64 seconds = 1; int32 nanos = 2; }
`;
const PushRequest = protobuf.parse(PUSH_PROTO).root.lookupType('logproto.PushRequest');

interface ProtoPush {
  streams?: { labels?: string; entries?: { timestamp?: { seconds?: string; nanos?: number }; line?: string; structuredMetadata?: { name: string; value: string }[] }[] }[];
}

const SHAPE = 'a Loki push is {"streams": [{"stream": {labels}, "values": [["<unix ns>", "<line>"], ...]}]}';

const NOT_A_TIME = NaN;

function nanosecondsToTime(text: unknown): Date {
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) return new Date(NOT_A_TIME);
  return new Date(Number(BigInt(text) / 1_000_000n));
}

/** Loki's labels and metadata are text: a number or a boolean is taken as written, an object or array refused (never walked). */
function textValues(value: unknown, what: string): Record<string, string> | string {
  if (typeof value !== 'object' || value === null) return {};
  const values: Record<string, string> = {};
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null) return `${what} ${JSON.stringify(name)} is an object or array: Loki's labels and structured metadata are text`;
    values[name] = typeof v === 'string' ? v : String(v);
  }
  return values;
}

function decodeLegacyEntry(entry: unknown): LokiEntry {
  const { ts, line } = (entry ?? {}) as { ts?: unknown; line?: unknown };
  return { ts: new Date(typeof ts === 'string' ? Date.parse(ts) : NOT_A_TIME), line: typeof line === 'string' ? line : '', metadata: {} };
}

function decodeEntry(tuple: unknown): LokiEntry | string {
  const [ts, line, metadata] = Array.isArray(tuple) ? (tuple as unknown[]) : [];
  const values = textValues(metadata, 'structured metadata');
  if (typeof values === 'string') return values;
  return { ts: nanosecondsToTime(ts), line: typeof line === 'string' ? line : '', metadata: values };
}

interface JsonStream {
  labels: Record<string, string> | string;
  entries: unknown[];
  decode: (entry: unknown) => LokiEntry | string;
}

/** A stream in either JSON form, its entries not yet decoded; undefined when it is in neither. */
function jsonStream(stream: unknown): JsonStream | undefined {
  if (typeof stream !== 'object' || stream === null) return undefined;
  const { labels, entries, stream: streamLabels, values } = stream as Record<string, unknown>;
  if (typeof labels === 'string' && Array.isArray(entries)) return { labels: parseStreamLabels(labels), entries, decode: decodeLegacyEntry };
  if (Array.isArray(values)) return { labels: textValues(streamLabels, 'stream label'), entries: values, decode: decodeEntry };
  return undefined;
}

/**
 * Loki's JSON push, and the older `labels` / `entries` form some clients still send. Its entries are counted
 * before any is decoded (the body parser has already bounded its objects).
 */
export function decodeJsonPush(value: unknown, limits: Pick<PushLimits, 'maxEntries'>): LokiStream[] | PushTooLarge | string {
  const streams = (value as { streams?: unknown })?.streams;
  if (!Array.isArray(streams)) return SHAPE;
  const forms: JsonStream[] = [];
  for (const stream of streams as unknown[]) {
    const form = jsonStream(stream);
    if (form === undefined) return SHAPE;
    forms.push(form);
  }
  if (forms.reduce((sum, form) => sum + form.entries.length, 0) > limits.maxEntries) return new PushTooLarge('maxEntries');
  const decoded: LokiStream[] = [];
  for (const { labels, entries, decode } of forms) {
    if (typeof labels === 'string') return labels;
    const stream: LokiStream = { labels, entries: [] };
    for (const entry of entries) {
      const decodedEntry = decode(entry);
      if (typeof decodedEntry === 'string') return decodedEntry;
      stream.entries.push(decodedEntry);
    }
    decoded.push(stream);
  }
  return decoded;
}

/**
 * Loki's protobuf push: a snappy-compressed (block format) PushRequest. The length snappy declares is read
 * before anything is allocated for it, and the message's entries and objects are counted before it is decoded;
 * `counted` is told the entries then, and may refuse them by throwing.
 */
export function decodeProtobufPush(body: Buffer, limits: PushLimits, counted: (entries: number) => void = () => undefined): LokiStream[] | PushTooLarge | string {
  const compressed = new Uint8Array(body.buffer, body.byteOffset, body.length);
  if ((snappyDeclaredLength(compressed) ?? 0) > limits.maxBytes) return new PushTooLarge('maxBytes');
  const notAPush = (error: unknown) => `the body is not a snappy-compressed Loki PushRequest: ${(error as Error).message}`;
  let bytes: Uint8Array;
  let entries: number | PushTooLarge;
  try {
    bytes = uncompress(compressed, limits.maxBytes);
    entries = protobufPushEntries(bytes, limits);
  } catch (error) {
    return notAPush(error);
  }
  if (entries instanceof PushTooLarge) return entries;
  counted(entries);
  let message: ProtoPush;
  try {
    message = PushRequest.toObject(PushRequest.decode(bytes), { longs: String });
  } catch (error) {
    return notAPush(error);
  }
  const decoded: LokiStream[] = [];
  for (const stream of message.streams ?? []) {
    const labels = parseStreamLabels(stream.labels ?? '');
    if (typeof labels === 'string') return labels;
    const entries = (stream.entries ?? []).map((entry): LokiEntry => {
      const seconds = entry.timestamp?.seconds;
      const ts = new Date(seconds === undefined ? NOT_A_TIME : Number(seconds) * 1000 + Math.floor((entry.timestamp?.nanos ?? 0) / 1_000_000));
      const metadata = Object.fromEntries((entry.structuredMetadata ?? []).map((pair) => [pair.name, pair.value]));
      return { ts, line: entry.line ?? '', metadata };
    });
    decoded.push({ labels, entries });
  }
  return decoded;
}
