import { escapeForTerminal, formatTimestamp } from '@daylog/log-model';
import { LabelValues, Stats } from './stats.service';

const BAR_WIDTH = 40;
/** A bar is drawn in eighths of a character, so small counts still show. */
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
const LISTED_PODS = 5;

function duration(ms: number): string {
  return ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : `${ms / 60_000}m`;
}

export function statsToJson(stats: Stats): object {
  return {
    from: formatTimestamp(stats.fromMs),
    to: formatTimestamp(stats.toMs),
    step: duration(stats.stepMs),
    by: stats.by,
    total: stats.total,
    buckets: stats.buckets.map((bucket) => ({
      start: formatTimestamp(bucket.startMs),
      total: bucket.total,
      counts: Object.fromEntries(bucket.counts),
    })),
  };
}

function bar(value: number, max: number): string {
  const eighths = max === 0 ? 0 : Math.round((value / max) * BAR_WIDTH * 8);
  const text = '█'.repeat(Math.floor(eighths / 8)) + EIGHTHS[eighths % 8];
  return text.padEnd(BAR_WIDTH);
}

/**
 * One line a bucket, readable in a terminal: its start, a bar scaled to the busiest bucket, the
 * count, and what it is made of (the worst levels first; the busiest pods).
 */
export function statsToText(stats: Stats): string {
  const max = Math.max(0, ...stats.buckets.map((b) => b.total));
  const width = max.toLocaleString('en-US').length;
  const header = `# lines per ${duration(stats.stepMs)} by ${stats.by}, ${formatTimestamp(stats.fromMs)} to ${formatTimestamp(stats.toMs)}: ${stats.total.toLocaleString('en-US')}\n`;
  const rows = stats.buckets.map((bucket) => {
    const parts = stats.by === 'level' ? [...bucket.counts].reverse() : bucket.counts.slice(0, LISTED_PODS);
    const more = stats.by === 'pod' && bucket.counts.length > LISTED_PODS ? `  +${bucket.counts.length - LISTED_PODS} more` : '';
    const made = parts.map(([key, n]) => `${escapeForTerminal(key)} ${n.toLocaleString('en-US')}`).join('  ') + more;
    const start = formatTimestamp(bucket.startMs).slice(0, 16) + 'Z';
    return `${start} ${bar(bucket.total, max)} ${bucket.total.toLocaleString('en-US').padStart(width)}  ${made}`.trimEnd() + '\n';
  });
  return header + rows.join('');
}

export function labelValuesToJson(values: LabelValues): object {
  return {
    label: values.label,
    from: formatTimestamp(values.fromMs),
    to: formatTimestamp(values.toMs),
    values: values.values.map((v) => ({ value: v.value, lines: v.lines, lastSeen: formatTimestamp(v.lastSeenMs) })),
  };
}

/** A header line as the stats' text has (what, how many, over which range), then aligned columns: value, lines, last seen. */
export function labelValuesToText(values: LabelValues): string {
  const count = values.values.length;
  const header = `# ${values.label}: ${count} ${count === 1 ? 'value' : 'values'}, ${formatTimestamp(values.fromMs)} to ${formatTimestamp(values.toMs)} (value, lines, last seen)\n`;
  const rows = values.values.map((v) => ({ value: escapeForTerminal(v.value), lines: v.lines.toLocaleString('en-US'), lastSeen: formatTimestamp(v.lastSeenMs) }));
  const valueWidth = Math.max(0, ...rows.map((row) => row.value.length));
  const countWidth = Math.max(0, ...rows.map((row) => row.lines.length));
  return header + rows.map((row) => `${row.value.padEnd(valueWidth)}  ${row.lines.padStart(countWidth)}  ${row.lastSeen}\n`).join('');
}
