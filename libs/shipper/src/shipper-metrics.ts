import { DELIVERY_FAILURE_CAUSES, DeliveryFailureCause } from './delivery-health';

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
  filesSkipped = 0;
  bytesBehind = 0;
  /** Node mode: unread bytes of deleted files given up (DAYLOG_MAX_DELETED_FILES). */
  bytesAbandoned = 0;
  /** 1 while the latest attempt of some batch failed for a reason other than its lines. */
  deliveryFailing = 0;
  deliveryFailures = Object.fromEntries(DELIVERY_FAILURE_CAUSES.map((cause) => [cause, 0])) as Record<DeliveryFailureCause, number>;

  toPrometheus(): string {
    const counters: [string, number, string][] = [
      ['daylog_shipper_lines_read_total', this.linesRead, 'Lines read from the files.'],
      ['daylog_shipper_lines_shipped_total', this.linesShipped, 'Lines the aggregator accepted.'],
      ['daylog_shipper_lines_retried_total', this.linesRetried, 'Lines sent again after a failed attempt.'],
      ['daylog_shipper_lines_rejected_total', this.linesRejected, 'Lines the aggregator refused as lines (its rejected entries, or a line too large), given up.'],
      ['daylog_shipper_lines_truncated_total', this.linesTruncated, 'Lines cut at DAYLOG_MAX_LINE_BYTES.'],
      ['daylog_shipper_lines_invalid_utf8_total', this.linesInvalidUtf8, 'Lines with bytes that are not UTF-8, replaced.'],
      ['daylog_shipper_batches_dropped_total', this.batchesDropped, 'Single lines given up after a 413: larger than the aggregator takes.'],
      ['daylog_shipper_batches_split_total', this.batchesSplit, 'Batches halved after a 413.'],
      ['daylog_shipper_rotations_total', this.rotations, 'Rotations seen (rename or truncate).'],
      ['daylog_shipper_bytes_abandoned_total', this.bytesAbandoned, 'Node mode: unread bytes of deleted files given up because more than DAYLOG_MAX_DELETED_FILES were held open.'],
      ['daylog_shipper_files_skipped_total', this.filesSkipped, 'Files refused because their real path (through a symbolic link) leaves the folders the globs name, or is the shipper\'s state; each counted once while it stays so.'],
    ];
    const lines = counters.flatMap(([name, value, help]) => [`# HELP ${name} ${help}`, `# TYPE ${name} counter`, `${name} ${value}`]);
    lines.push('# HELP daylog_shipper_bytes_behind Bytes written to the files and not yet acknowledged.');
    lines.push('# TYPE daylog_shipper_bytes_behind gauge', `daylog_shipper_bytes_behind ${this.bytesBehind}`);
    lines.push('# HELP daylog_shipper_delivery_failing 1 while deliveries fail for a reason other than their lines (token, URL, aggregator down); the lines wait on disk.');
    lines.push('# TYPE daylog_shipper_delivery_failing gauge', `daylog_shipper_delivery_failing ${this.deliveryFailing}`);
    lines.push('# HELP daylog_shipper_delivery_failures_total Failed delivery attempts, by cause; each is retried.');
    lines.push('# TYPE daylog_shipper_delivery_failures_total counter');
    for (const cause of DELIVERY_FAILURE_CAUSES) lines.push(`daylog_shipper_delivery_failures_total{cause="${cause}"} ${this.deliveryFailures[cause]}`);
    return `${lines.join('\n')}\n`;
  }
}
