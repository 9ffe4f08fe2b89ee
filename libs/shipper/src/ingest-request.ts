import { LabelName } from '@daylog/log-model';
import { ParsedLine } from './line-parsers';

export interface LabelledLine extends ParsedLine {
  source: string;
}

/** What POST /api/v1/logs is sent for a batch, before gzip. */
export interface IngestRequest {
  /** Query string, with its `?`, or empty. */
  query: string;
  contentType: 'application/json' | 'text/plain';
  /** Valid until the next request is encoded: the encoder's buffer is reused. */
  body: Buffer;
}

const NOT_BLANK = /\S/;
const NEWLINE = 0x0a;

/**
 * Encodes batches into one buffer that is reused, grown when a batch needs more: on the machines
 * measured here a fresh 300 kB buffer costs ~0.6 ms in page faults, as much as encoding into it.
 */
export class IngestRequestEncoder {
  private buffer = Buffer.allocUnsafe(1024 * 1024);
  private length = 0;

  /**
   * A batch whose lines are all messages in one format the aggregator reads itself goes as
   * text/plain with `format=`: the lines as they are in the file, with no JSON around them. Any
   * other batch goes as JSON. A line of blanks only would be skipped in a text body, so a batch
   * holding one goes as JSON.
   */
  encode(labels: Partial<Record<LabelName, string | null>>, lines: readonly LabelledLine[]): IngestRequest {
    const source = lines[0].source;
    const oneSource = lines.every((line) => line.source === source);
    const batchLabels: Record<string, string> = {};
    for (const [name, value] of Object.entries({ ...labels, source: oneSource ? source : null })) if (value) batchLabels[name] = value;
    const format = lines[0].format;
    const asText =
      oneSource &&
      format !== undefined &&
      lines.every((line) => line.format === format && line.ts === undefined && line.level === undefined && line.fields === undefined && NOT_BLANK.test(line.message));

    this.length = 0;
    if (asText) {
      for (const line of lines) {
        this.append(line.message);
        this.appendByte(NEWLINE);
      }
      return { query: `?${new URLSearchParams({ ...batchLabels, format }).toString()}`, contentType: 'text/plain', body: this.body() };
    }
    this.append(`{"labels":${JSON.stringify(batchLabels)},"lines":[`);
    lines.forEach(({ ts, level, message, fields, format, source }, i) => {
      if (i > 0) this.appendByte(0x2c);
      this.append(JSON.stringify({ ts, level, message, fields, format, source: oneSource ? undefined : source }));
    });
    this.append(']}');
    return { query: '', contentType: 'application/json', body: this.body() };
  }

  private append(text: string): void {
    // UTF-8 takes at most 3 bytes for each UTF-16 unit.
    if (this.length + text.length * 3 > this.buffer.length) this.grow(this.length + text.length * 3);
    this.length += this.buffer.write(text, this.length);
  }

  private appendByte(byte: number): void {
    if (this.length + 1 > this.buffer.length) this.grow(this.length + 1);
    this.buffer[this.length++] = byte;
  }

  private grow(atLeast: number): void {
    const grown = Buffer.allocUnsafe(Math.max(atLeast, this.buffer.length * 2));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }

  private body(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}
