import { LEVELS, lineFields } from '@daylog/log-model';
import { LabelSet } from './label-sets';
import { StoredLogLine } from './log-store';
import { LineRow } from './partition-source';
import { formatOfCode } from './partitions';

/**
 * A line as an engine read it, with its label set's labels and the start of the partition it is in: the
 * line as queries and live tails give it, its fields derived from its format as when it was sent.
 */
export function storedLogLine(row: LineRow, labels: LabelSet, partitionStart: number): StoredLogLine {
  const format = formatOfCode(row.format);
  const sent = row.fields === null ? null : (JSON.parse(row.fields) as StoredLogLine['fields']);
  return {
    ts: row.ts,
    level: LEVELS[row.severity],
    namespace: labels.namespace,
    pod: labels.pod,
    container: labels.container,
    source: labels.source,
    message: row.message,
    fields: lineFields(format, row.message, sent),
    format,
    position: { ts: row.ts, partitionStart, id: row.id },
  };
}
