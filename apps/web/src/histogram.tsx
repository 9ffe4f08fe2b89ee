import { useEffect, useState } from 'preact/hooks';
import { ApiError, Counts, TokenNeeded, fetchCounts } from './api';
import { Preferences } from './preferences';
import { durationMs, showTime } from './times';
import { currentToken } from './token';
import { ViewState, countQuery, withRange } from './view-state';

/** Counts with the grouping they were asked for, which the switch may have changed since. */
type Loaded = { kind: 'loading' } | { kind: 'counts'; counts: Counts; by: Grouping } | { kind: 'error'; message: string };

/** Severity order, the worst at the bottom of a bar where the eye looks first. */
const LEVEL_STACK = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
/** Pods with a colour of their own, the busiest; the others share one. */
const PODS_COLOURED = 7;

type Grouping = 'level' | 'pod';
interface Series {
  name: string;
  className: string;
  /** The names of the counts it adds up. */
  members: readonly string[];
}

/** What a bar is made of, bottom up: levels worst first, or the busiest pods and then all the others. */
function seriesOf(counts: Counts, by: Grouping): Series[] {
  if (by === 'level') return LEVEL_STACK.map((level) => ({ name: level, className: `bar-${level}`, members: [level] }));
  const totals = new Map<string, number>();
  for (const bucket of counts.buckets) for (const [pod, count] of Object.entries(bucket.counts)) totals.set(pod, (totals.get(pod) ?? 0) + count);
  const pods = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([pod]) => pod);
  const series = pods.slice(0, PODS_COLOURED).map((pod, i) => ({ name: pod, className: `series-${i}`, members: [pod] }));
  const others = pods.slice(PODS_COLOURED);
  return others.length === 0 ? series : [...series, { name: `${others.length} other pods`, className: 'series-other', members: others }];
}
const BAR_WIDTH = 10;
const HEIGHT = 60;

/**
 * Lines per time bucket for the view's filters (GET /api/v1/stats), stacked by level or by pod. Clicking a bar, or dragging
 * across bars, zooms the view to their time. A count the server finds too dear (its 400 and 503) is said in the
 * histogram's place; the lines are shown all the same.
 */
export function Histogram({ view, attempt, onChange, preferences }: { view: ViewState; attempt: number; onChange: (view: ViewState) => void; preferences: Preferences }) {
  const [loaded, setLoaded] = useState<Loaded>({ kind: 'loading' });
  const [drag, setDrag] = useState<{ from: number; to: number } | null>(null);
  const [by, setBy] = useState<Grouping>('level');
  useEffect(() => {
    const aborted = new AbortController();
    setLoaded({ kind: 'loading' });
    const query = countQuery(view);
    query.set('by', by);
    fetchCounts(query, currentToken(), aborted.signal).then(
      (counts) => setLoaded({ kind: 'counts', counts, by }),
      (error: unknown) => {
        if (aborted.signal.aborted || error instanceof TokenNeeded) return;
        setLoaded({ kind: 'error', message: error instanceof ApiError ? error.message : String(error) });
      },
    );
    return () => aborted.abort();
  }, [view, attempt, by]);

  if (loaded.kind === 'error') {
    return (
      <p class="histogram-note" data-testid="histogram-note" role="status">
        No histogram for this view: {loaded.message}
      </p>
    );
  }
  if (loaded.kind === 'loading') return <div class="histogram" aria-busy="true" />;
  const { counts } = loaded;
  const buckets = counts.buckets;
  const step = durationMs(counts.step) ?? 60_000;
  const busiest = Math.max(1, ...buckets.map((bucket) => bucket.total));
  const series = seriesOf(counts, loaded.by);
  const countIn = (bucket: Counts['buckets'][number], { members }: Series) => members.reduce((sum, name) => sum + (bucket.counts[name] ?? 0), 0);
  const bucketAt = (event: PointerEvent) => {
    const box = (event.currentTarget as SVGSVGElement).getBoundingClientRect();
    return Math.min(buckets.length - 1, Math.max(0, Math.floor(((event.clientX - box.left) / box.width) * buckets.length)));
  };
  const zoom = (first: number, last: number) => {
    const [low, high] = first <= last ? [first, last] : [last, first];
    const from = Date.parse(buckets[low].start);
    const to = Date.parse(buckets[high].start) + step;
    onChange(withRange(view, new Date(Math.max(from, Date.parse(counts.from))).toISOString(), new Date(Math.min(to, Date.parse(counts.to))).toISOString()));
  };
  const selected = drag && { low: Math.min(drag.from, drag.to), high: Math.max(drag.from, drag.to) };
  return (
    <figure class="histogram" data-testid="histogram">
      <svg
        viewBox={`0 0 ${buckets.length * BAR_WIDTH} ${HEIGHT}`}
        preserveAspectRatio="none"
        role="img"
        aria-label={`${counts.total} lines in ${buckets.length} buckets of ${counts.step}: click or drag to zoom`}
        onPointerDown={(event) => {
          event.currentTarget.setPointerCapture(event.pointerId);
          const at = bucketAt(event);
          setDrag({ from: at, to: at });
        }}
        onPointerMove={(event) => drag && setDrag({ ...drag, to: bucketAt(event) })}
        onPointerUp={(event) => {
          if (!drag) return;
          setDrag(null);
          zoom(drag.from, bucketAt(event));
        }}
      >
        {selected && <rect class="selection" x={selected.low * BAR_WIDTH} y={0} width={(selected.high - selected.low + 1) * BAR_WIDTH} height={HEIGHT} />}
        {buckets.map((bucket, i) => {
          let top = HEIGHT;
          return (
            <g key={bucket.start} data-testid="bar" data-start={bucket.start} data-total={bucket.total}>
              <title>
                {showTime(Date.parse(bucket.start), preferences.utc)}: {bucket.total} lines
                {series
                  .map((one) => [one.name, countIn(bucket, one)] as const)
                  .filter(([, count]) => count > 0)
                  .map(([name, count]) => `, ${count} ${name}`)
                  .join('')}
              </title>
              <rect class="bucket" x={i * BAR_WIDTH} y={0} width={BAR_WIDTH} height={HEIGHT} />
              {series.map((one) => {
                const count = countIn(bucket, one);
                if (count === 0) return null;
                const height = (count / busiest) * (HEIGHT - 2);
                top -= height;
                return <rect key={one.name} class={`bar ${one.className}`} x={i * BAR_WIDTH + 1} y={top} width={BAR_WIDTH - 2} height={height} />;
              })}
            </g>
          );
        })}
      </svg>
      <figcaption>
        <span>{showTime(Date.parse(counts.from), preferences.utc)}</span>
        <span>
          {counts.total.toLocaleString()} lines, {counts.step} a bar, by{' '}
          <select aria-label="Stack by" value={by} onChange={(e) => setBy(e.currentTarget.value as Grouping)}>
            <option value="level">level</option>
            <option value="pod">pod</option>
          </select>
        </span>
        <span>{showTime(Date.parse(counts.to), preferences.utc)}</span>
      </figcaption>
      <ul class="legend" aria-label="Histogram legend">
        {series
          .filter((one) => buckets.some((bucket) => countIn(bucket, one) > 0))
          .map((one) => (
            <li key={one.name}>
              <span class={`swatch ${one.className}`} />
              {one.name}
            </li>
          ))}
      </ul>
    </figure>
  );
}
