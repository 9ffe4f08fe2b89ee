import protobuf from 'protobufjs';
import { uncompress } from 'snappyjs';
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

function stringValues(value: unknown): Record<string, string> {
  if (typeof value !== 'object' || value === null) return {};
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

/** Loki's JSON push, and the older `labels` / `entries` form some clients still send. */
export function decodeJsonPush(value: unknown): LokiStream[] | string {
  const streams = (value as { streams?: unknown })?.streams;
  if (!Array.isArray(streams)) return SHAPE;
  const decoded: LokiStream[] = [];
  for (const stream of streams as Record<string, unknown>[]) {
    if (typeof stream !== 'object' || stream === null) return SHAPE;
    if (typeof stream.labels === 'string' && Array.isArray(stream.entries)) {
      const labels = parseStreamLabels(stream.labels);
      if (typeof labels === 'string') return labels;
      const entries = (stream.entries as { ts?: unknown; line?: unknown }[]).map((entry) => ({
        ts: new Date(typeof entry?.ts === 'string' ? Date.parse(entry.ts) : NOT_A_TIME),
        line: typeof entry?.line === 'string' ? entry.line : '',
        metadata: {},
      }));
      decoded.push({ labels, entries });
      continue;
    }
    if (!Array.isArray(stream.values)) return SHAPE;
    const entries = (stream.values as unknown[]).map((tuple): LokiEntry => {
      const [ts, line, metadata] = Array.isArray(tuple) ? (tuple as unknown[]) : [];
      return { ts: nanosecondsToTime(ts), line: typeof line === 'string' ? line : '', metadata: stringValues(metadata) };
    });
    decoded.push({ labels: stringValues(stream.stream), entries });
  }
  return decoded;
}

/** Loki's protobuf push: a snappy-compressed (block format) PushRequest. */
export function decodeProtobufPush(body: Buffer, maxBytes: number): LokiStream[] | string {
  let message: ProtoPush;
  try {
    const bytes = uncompress(new Uint8Array(body.buffer, body.byteOffset, body.length), maxBytes);
    message = PushRequest.toObject(PushRequest.decode(bytes), { longs: String });
  } catch (error) {
    return `the body is not a snappy-compressed Loki PushRequest: ${(error as Error).message}`;
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
