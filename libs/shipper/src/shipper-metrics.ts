/** The shipper's counters, for logs at exit and for /metrics in Prometheus text format. */
export class ShipperMetrics {
  linesRead = 0;
  linesShipped = 0;
  linesRetried = 0;
  linesRejected = 0;
  linesTruncated = 0;
  linesInvalidUtf8 = 0;
  batchesDropped = 0;
  batchesSplit = 0;
  rotations = 0;
  bytesBehind = 0;

  toPrometheus(): string {
    const counters: [string, number, string][] = [
      ['daylog_shipper_lines_read_total', this.linesRead, 'Lines read from the files.'],
      ['daylog_shipper_lines_shipped_total', this.linesShipped, 'Lines the aggregator accepted.'],
      ['daylog_shipper_lines_retried_total', this.linesRetried, 'Lines sent again after a failed attempt.'],
      ['daylog_shipper_lines_rejected_total', this.linesRejected, 'Lines the aggregator refused, or dropped with a refused batch.'],
      ['daylog_shipper_lines_truncated_total', this.linesTruncated, 'Lines cut at DAYLOG_MAX_LINE_BYTES.'],
      ['daylog_shipper_lines_invalid_utf8_total', this.linesInvalidUtf8, 'Lines with bytes that are not UTF-8, replaced.'],
      ['daylog_shipper_batches_dropped_total', this.batchesDropped, 'Batches given up after the aggregator refused them.'],
      ['daylog_shipper_batches_split_total', this.batchesSplit, 'Batches halved after a 413.'],
      ['daylog_shipper_rotations_total', this.rotations, 'Rotations seen (rename or truncate).'],
    ];
    const lines = counters.flatMap(([name, value, help]) => [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`]);
    lines.push('# HELP daylog_shipper_bytes_behind Bytes written to the files and not yet acknowledged.');
    lines.push('# TYPE daylog_shipper_bytes_behind gauge', `daylog_shipper_bytes_behind ${this.bytesBehind}`);
    return `${lines.join('\n')}\n`;
  }
}

/** One JSON object per line on stdout: what happened, and its details. */
export function logEvent(event: string, details: Record<string, unknown> = {}): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...details })}\n`);
}
