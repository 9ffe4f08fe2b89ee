import { LogQuery, LogStore, QueryBudgetExceeded, ScanBudget, ScanStop, StoredLogLine } from '@daylog/storage';
import { LogSelection } from '../logql/ast';
import { PipelineResult, compilePipeline } from '../logql/pipeline';
import { StreamLabels, StreamSelection, streamLabels, streamSelection, structuredMetadata } from './streams';

/** Lines read from storage a page at a time while a query's pipeline drops some of them. */
const PAGE_LINES = 5000;

/** A line a query selected: as stored, and as its pipeline left it. */
export interface SelectedLine {
  stored: StoredLogLine;
  result: PipelineResult;
}

export interface ReadScope {
  store: LogStore;
  budget: ScanBudget;
  /** The namespaces the asker may see; undefined: all. */
  namespaces: string[] | undefined;
}

/** A selection compiled once: the read storage does, and what is tested of each line it gives. */
export class CompiledSelection {
  private readonly streams: StreamSelection;
  private readonly pipeline: ReturnType<typeof compilePipeline>;
  private readonly admitted = new Map<string, boolean>();

  constructor(
    selection: LogSelection,
    fromMs: number,
    toMs: number,
    namespaces: string[] | undefined,
  ) {
    this.streams = streamSelection(selection, fromMs, toMs, namespaces);
    this.pipeline = compilePipeline(selection.stages);
  }

  /** The line through the selector and the pipeline; null when either drops it. */
  select(stored: StoredLogLine): PipelineResult | null {
    const stream = streamLabels(stored);
    if (!this.admits(stream)) return null;
    return this.pipeline({ line: stored.message, stream, metadata: structuredMetadata(stored) });
  }

  /**
   * Up to `limit` selected lines, newest first (backward) or oldest first, read page after page; `stopped` says
   * why reading ended before the range did (the search's budget), the lines found so far being the answer.
   */
  async read(scope: ReadScope, direction: LogQuery['direction'], limit: number): Promise<{ lines: SelectedLine[]; stopped: ScanStop | null }> {
    const lines: SelectedLine[] = [];
    if (this.streams.empty) return { lines, stopped: null };
    let after: LogQuery['after'] = null;
    for (;;) {
      const page = await scope.store.query({ ...this.streams.filter, limit: Math.min(PAGE_LINES, limit - lines.length), direction, after }, scope.budget);
      for (const stored of page.lines) {
        const result = this.select(stored);
        if (result) lines.push({ stored, result });
        if (lines.length === limit) return { lines, stopped: null };
      }
      if (page.stopped) return { lines, stopped: page.stopped };
      if (!page.next) return { lines, stopped: null };
      after = page.next;
    }
  }

  /** Every selected line of the range, oldest first; a count must be whole, so a spent budget throws QueryBudgetExceeded. */
  async each(scope: ReadScope, visit: (line: SelectedLine) => void): Promise<void> {
    if (this.streams.empty) return;
    let after: LogQuery['after'] = null;
    for (;;) {
      const page = await scope.store.query({ ...this.streams.filter, limit: PAGE_LINES, direction: 'forward', after }, scope.budget);
      for (const stored of page.lines) {
        const result = this.select(stored);
        if (result) visit({ stored, result });
      }
      if (page.stopped) throw new QueryBudgetExceeded(page.stopped, scope.budget);
      if (!page.next) return;
      after = page.next;
    }
  }

  private admits(stream: StreamLabels): boolean {
    const key = `${stream.namespace ?? ''}\u0000${stream.pod ?? ''}\u0000${stream.container ?? ''}\u0000${stream.source ?? ''}\u0000${stream.level}`;
    let answer = this.admitted.get(key);
    if (answer === undefined) {
      answer = this.streams.admits(stream);
      this.admitted.set(key, answer);
    }
    return answer;
  }
}
