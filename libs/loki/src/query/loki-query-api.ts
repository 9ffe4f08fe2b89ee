import { LineCount, LogStore, ScanBudget } from '@daylog/storage';
import { LogSelection, MetricExpr } from '../logql/ast';
import { LogqlError, parseLogql } from '../logql/parse';
import { instantAnswer, listAnswer, matrixAnswer, streamsAnswer } from './answers';
import { MetricError, MetricSource, StreamCount, evaluateMetric, labelsKey } from './metrics';
import { floorMs } from './loki-times';
import {
  LokiBadRequest,
  RawParams,
  all,
  directionParam,
  instantTime,
  limitParam,
  lineWindow,
  queryParam,
  single,
  stepGrid,
  timeRange,
} from './query-params';
import { CompiledSelection, ReadScope } from './selected-lines';
import { STREAM_LABEL_NAMES, StreamLabels, countedAsStored, streamLabelOf, streamLabels, streamSelection } from './streams';

/** Who asks and when: the namespaces their token may see, the oldest time kept, the search's budget. */
export interface Asking {
  namespaces: string[] | undefined;
  nowMs: number;
  /** Lines older than this are not kept, whether or not the pruner has run. */
  oldestMs: number;
  budget: () => ScanBudget;
}

/** What stopped a search early, as a warning Grafana shows above the lines it got. */
const STOPPED_WARNINGS = {
  lines: 'Daylog read as many lines as one search may (DAYLOG_QUERY_MAX_SCANNED_LINES) before it found the limit: more lines may match',
  time: 'the search ran out of time (DAYLOG_QUERY_TIMEOUT) before it found the limit: more lines may match',
} as const;

const BUILD_INFO = { version: '3.0.0', revision: 'daylog', branch: 'daylog', buildUser: 'daylog', buildDate: '', goVersion: '' };

/**
 * Loki's query API over Daylog's store: the answers Grafana's Loki data source and logcli read (docs/API.md).
 * Parameters arrive as the query string has them; a bad one, or LogQL Daylog does not read, throws LokiBadRequest.
 */
export class LokiQueryApi {
  constructor(private readonly store: LogStore) {}

  /** `query_range`: a log query's lines, the `limit` newest (or oldest, forward) across streams; a metric query's points. */
  async queryRange(params: RawParams, asking: Asking, categorize: boolean): Promise<object> {
    const query = queryParam(params);
    const range = timeRange(params, asking.nowMs);
    if (query.kind === 'metric') {
      const grid = stepGrid(params, range);
      return matrixAnswer(await this.metric(query.expr, grid, asking), grid);
    }
    const limit = limitParam(params);
    const { fromMs, toMs } = lineWindow(range);
    const selection = new CompiledSelection(query.selection, Math.max(fromMs, asking.oldestMs), toMs, asking.namespaces);
    const { lines, stopped } = await selection.read(this.scope(asking), directionParam(params), limit);
    return streamsAnswer(lines, categorize, stopped ? [STOPPED_WARNINGS[stopped]] : []);
  }

  /** `query`: a metric query at one time (Grafana's health check, `vector(1)+vector(1)`, among them). */
  async instant(params: RawParams, asking: Asking): Promise<object> {
    const query = queryParam(params);
    if (query.kind === 'log') throw new LokiBadRequest('log queries are answered by /loki/api/v1/query_range; /query evaluates metric queries');
    const atMs = floorMs(instantTime(params, asking.nowMs));
    return instantAnswer(await this.metric(query.expr, { startMs: atMs, stepMs: 1, count: 1 }, asking), atMs);
  }

  /** `labels`: the names of the labels streams in the range have. */
  async labels(params: RawParams, asking: Asking): Promise<object> {
    const counts = await this.streamCounts(params, asking, single(params, 'query'));
    const names = new Set<string>();
    for (const count of counts) for (const name of Object.keys(this.labelsOf(count))) names.add(name);
    return listAnswer(STREAM_LABEL_NAMES.filter((name) => names.has(name)));
  }

  /** `label/{name}/values`: the values a label takes in the range, among the streams `query` selects when given. */
  async labelValues(name: string, params: RawParams, asking: Asking): Promise<object> {
    const label = streamLabelOf(name);
    if (label === undefined) return listAnswer([]);
    const values = new Set<string>();
    for (const count of await this.streamCounts(params, asking, single(params, 'query'))) {
      const value = this.labelsOf(count)[label];
      if (value !== undefined) values.add(value);
    }
    return listAnswer([...values].sort());
  }

  /** `series`: the label sets of the streams any of the selectors (`match[]`, or logcli's `match`) selects. */
  async series(params: RawParams, asking: Asking): Promise<object> {
    const selectors = [...all(params, 'match[]'), ...all(params, 'match')];
    const sets = new Map<string, StreamLabels>();
    for (const selector of selectors.length > 0 ? selectors : [undefined]) {
      for (const count of await this.streamCounts(params, asking, selector)) {
        const labels = this.labelsOf(count);
        sets.set(JSON.stringify(labels), labels);
      }
    }
    return listAnswer([...sets.values()]);
  }

  /** `index/stats`: how much a selector reads (Grafana's hint under the editor); bytes as the store's share of its size. */
  async indexStats(params: RawParams, asking: Asking): Promise<object> {
    const counts = await this.streamCounts(params, asking, single(params, 'query'));
    const entries = counts.reduce((sum, c) => sum + c.lines, 0);
    const streams = new Set(counts.map((c) => JSON.stringify(this.labelsOf(c)))).size;
    const kept = await this.store.count({ fromMs: asking.oldestMs, toMs: asking.nowMs + 1, labels: {}, levels: null, contains: [], excludes: [], bucketMs: null }, asking.budget());
    const keptLines = kept.reduce((sum, c) => sum + c.lines, 0);
    const bytes = keptLines === 0 ? 0 : Math.round(((await this.store.stats()).bytes * entries) / keptLines);
    return { streams, chunks: streams, entries, bytes };
  }

  buildInfo(): object {
    return BUILD_INFO;
  }

  private scope(asking: Asking): ReadScope {
    return { store: this.store, budget: asking.budget(), namespaces: asking.namespaces };
  }

  private async metric(expr: MetricExpr, grid: { startMs: number; stepMs: number; count: number }, asking: Asking) {
    const scope = this.scope(asking);
    const source: MetricSource = {
      lines: (selection, fromMs, toMs, visit) => new CompiledSelection(selection, Math.max(fromMs, asking.oldestMs), toMs, asking.namespaces).each(scope, visit),
      counts: async (selection, fromMs, toMs, bucketMs) => {
        if (!countedAsStored(selection)) return null;
        const streams = streamSelection(selection, Math.max(fromMs, asking.oldestMs), toMs, asking.namespaces);
        if (streams.empty) return [];
        // A stream's labels, key and answer once, however many buckets it has lines in.
        const known = new Map<string, { labels: StreamLabels; key: string; admitted: boolean }>();
        const counted: StreamCount[] = [];
        for (const count of await this.store.count({ ...streams.filter, bucketMs }, scope.budget)) {
          const { namespace, pod, container, source } = count.labels;
          const raw = `${namespace}\u0000${pod}\u0000${container}\u0000${source}\u0000${count.level}`;
          let stream = known.get(raw);
          if (!stream) {
            const labels = this.labelsOf(count);
            stream = { labels, key: labelsKey(labels), admitted: streams.admits(labels) };
            known.set(raw, stream);
          }
          if (stream.admitted) counted.push({ labels: stream.labels, key: stream.key, startMs: count.startMs, lines: count.lines });
        }
        return counted;
      },
    };
    try {
      return await evaluateMetric(expr, grid, source);
    } catch (error) {
      if (error instanceof MetricError) throw new LokiBadRequest(error.message);
      throw error;
    }
  }

  /** Lines per label set and level in the range, of the streams a selector (when given) selects. */
  private async streamCounts(params: RawParams, asking: Asking, selector: string | undefined): Promise<LineCount[]> {
    const { fromMs, toMs } = lineWindow(timeRange(params, asking.nowMs));
    // `{}` is every stream here, as in Loki's series and label calls, though no query may select them all.
    const everything = selector === undefined || selector.trim() === '' || selector.trim() === '{}';
    const selection: LogSelection = everything ? { matchers: [], stages: [] } : this.selectorOf(selector);
    const streams = streamSelection(selection, Math.max(fromMs, asking.oldestMs), toMs, asking.namespaces);
    if (streams.empty) return [];
    const counts = await this.store.count({ ...streams.filter, contains: [], bucketMs: null }, asking.budget());
    return counts.filter((count) => streams.admits(this.labelsOf(count)));
  }

  private selectorOf(text: string): LogSelection {
    try {
      const query = parseLogql(text);
      if (query.kind === 'metric') throw new LokiBadRequest(`${JSON.stringify(text)} is a metric query: give a stream selector such as {pod="web"}`);
      return { matchers: query.selection.matchers, stages: [] };
    } catch (error) {
      if (error instanceof LogqlError) throw new LokiBadRequest(error.message);
      throw error;
    }
  }

  private labelsOf(count: LineCount): StreamLabels {
    const { namespace, pod, container, source } = count.labels;
    return streamLabels({ namespace, pod: pod ?? '', container, source, level: count.level });
  }
}
