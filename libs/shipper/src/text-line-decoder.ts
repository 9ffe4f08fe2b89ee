import { basename } from 'node:path';
import { ShipperConfig } from '@daylog/config/shipper';
import { OutgoingLine } from './aggregator-client';
import { FileCheckpoint } from './checkpoint-store';
import { LineDecoder } from './line-decoder';
import { keptLineBytes, markTruncated } from './line-cap';
import { LineParser, parserFor } from './line-parsers';
import { LineSplitter, SplitLine } from './line-splitter';
import { ShipperMetrics } from './shipper-metrics';

/** The sidecar's lines: text up to each newline, parsed by the file's format, labelled by the file's name. */
export class TextLineDecoder implements LineDecoder {
  private readonly splitter: LineSplitter;
  private parser: LineParser | null = null;
  /** The sidecar sends every line. */
  readonly skippedThrough = 0;

  constructor(
    private readonly checkpoint: FileCheckpoint,
    private readonly config: ShipperConfig,
    private readonly metrics: ShipperMetrics,
  ) {
    this.splitter = new LineSplitter(keptLineBytes(config.maxLineBytes));
  }

  push(chunk: Buffer, chunkOffset: number): OutgoingLine[] {
    return this.parse(this.splitter.push(chunk, chunkOffset));
  }

  expire(): OutgoingLine[] {
    return [];
  }

  finish(readOffset: number): OutgoingLine[] {
    if (this.splitter.pendingBytes === 0) return [];
    return this.parse(this.splitter.push(Buffer.from('\n'), readOffset).map((line) => ({ ...line, endOffset: readOffset })));
  }

  settledOffset(): number {
    return Infinity;
  }

  reset(): void {
    this.splitter.reset();
  }

  private parse(lines: SplitLine[]): OutgoingLine[] {
    // The name as it is now: a rotated copy's lines carry its new name (access.log.1).
    const source = basename(this.checkpoint.path);
    const parsed: OutgoingLine[] = [];
    for (const split of lines) {
      this.parser ??= parserFor(this.config.format, source, split.text);
      const message = markTruncated(split.text, split.truncatedBytes);
      if (split.truncatedBytes > 0) this.metrics.linesTruncated++;
      if (split.invalidUtf8) this.metrics.linesInvalidUtf8++;
      if (message.length === 0) continue;
      const { ts, level, fields, format, message: text } = this.parser(message);
      parsed.push({ ts, level, message: text, fields, format, source, endOffset: split.endOffset });
    }
    return parsed;
  }
}
