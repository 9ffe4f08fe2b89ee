/** A request body as the content-type parsers leave it, before any line is validated. */
export type IngestBody =
  | { format: 'json'; value: unknown }
  | { format: 'ndjson'; lines: NumberedLine[] }
  | { format: 'text'; lines: NumberedLine[] }
  | { format: 'protobuf'; bytes: Buffer };

/** `index` is the line's position in the body (0-based), so a rejection points at the right line; `value` is a LineProblem for an NDJSON line that is not JSON, rejected on its own. */
export interface NumberedLine {
  index: number;
  value: unknown;
}
