/**
 * What a request may hold, said the same way whichever step finds it past a limit: the body parsers, the
 * JSON batch, the Loki push (entries, in Loki's words) or the snappy preamble of a protobuf push.
 */
export function tooManyLines(maxLines: number, noun: 'lines' | 'entries' = 'lines'): string {
  return `the request has more than ${maxLines} ${noun} (DAYLOG_MAX_LINES_PER_REQUEST): split the batch into requests of at most ${maxLines} ${noun}`;
}

export function tooManyObjects(maxObjects: number, maxLines: number, noun = 'objects and arrays'): string {
  return (
    `the body holds more than ${maxObjects} ${noun}, more than ${maxLines} lines (DAYLOG_MAX_LINES_PER_REQUEST) can need: ` +
    'split the batch into smaller requests'
  );
}

export function bodyTooLarge(maxBodyBytes: number): string {
  return `the body is larger than ${maxBodyBytes} bytes (DAYLOG_MAX_BODY_BYTES, counted after decompression); send smaller batches`;
}
