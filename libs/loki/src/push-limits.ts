import protobuf from 'protobufjs';

/** What one push may hold: `maxBytes` once decompressed, `maxEntries` entries, `maxObjects` decoded objects. */
export interface PushLimits {
  maxBytes: number;
  maxEntries: number;
  maxObjects: number;
}

/** A push past one of its limits, found before it was decompressed or decoded; the caller says which setting. */
export class PushTooLarge {
  constructor(readonly limit: keyof PushLimits) {}
}

/** The uncompressed length a snappy block declares in its first bytes (a varint); undefined when there is none. */
export function snappyDeclaredLength(bytes: Uint8Array): number | undefined {
  let length = 0;
  for (let i = 0; i < Math.min(bytes.length, 5); i++) {
    length += (bytes[i] & 0x7f) * 2 ** (7 * i);
    if (bytes[i] < 0x80) return length;
  }
  return undefined;
}

/** logproto's tags (field number and wire type 2, length-delimited): PushRequest.streams, StreamAdapter.entries, EntryAdapter.structuredMetadata. */
const STREAM_TAG = (1 << 3) | 2;
const ENTRY_TAG = (2 << 3) | 2;
const METADATA_TAG = (3 << 3) | 2;

/** Within a message ending at `end`, each length-delimited field with `tag`, as where it ends; other fields are stepped over. */
function* fieldsTagged(reader: protobuf.Reader, end: number, tag: number): Generator<number> {
  while (reader.pos < end) {
    const field = reader.uint32();
    if (field === tag) yield reader.uint32() + reader.pos;
    else reader.skipType(field & 7);
  }
}

/**
 * Counts a PushRequest's streams, entries and metadata pairs from its wire format, stepping over their bytes,
 * and stops past a limit: decoding makes several objects of each (8 M empty entries fit in 16 MB), so a push
 * is measured before any of them is made. Its entries, when within the limits. Throws as protobufjs does on
 * bytes that are not a message.
 */
export function protobufPushEntries(bytes: Uint8Array, limits: PushLimits): number | PushTooLarge {
  const reader = protobuf.Reader.create(bytes);
  let entries = 0;
  let objects = 0;
  const tooManyObjects = () => ++objects > limits.maxObjects;
  for (const streamEnd of fieldsTagged(reader, reader.len, STREAM_TAG)) {
    if (tooManyObjects()) return new PushTooLarge('maxObjects');
    for (const entryEnd of fieldsTagged(reader, streamEnd, ENTRY_TAG)) {
      if (++entries > limits.maxEntries) return new PushTooLarge('maxEntries');
      if (tooManyObjects()) return new PushTooLarge('maxObjects');
      for (const pairEnd of fieldsTagged(reader, entryEnd, METADATA_TAG)) {
        if (tooManyObjects()) return new PushTooLarge('maxObjects');
        reader.pos = pairEnd;
      }
    }
  }
  return entries;
}
