import { Inject, Injectable, NotFoundException } from '@nestjs/common';
import { DaylogConfig } from '@daylog/config';
import { LEVELS, LabelName, parseDuration } from '@daylog/log-model';
import { CountQuery, LOG_STORE, LineCount, LogStore, QueryBudgetExceeded, QueryCancelled } from '@daylog/storage';
import { CLOCK, Clock } from '../clock/clock';
import { AggregatorMetrics } from '../metrics/aggregator-metrics';
import { NamespaceScope } from '../auth/access';
import { DAYLOG_CONFIG } from '../config/config.module';
import { badParam, lineFilterOf } from '../query/line-filter';
import { Asker, ScanBudgets } from '../query/scan-budgets';
import { Grouping, LABEL_PATHS, LabelValuesDto, StatsDto } from './stats.dto';

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Steps picked when none is given: the finest that keeps the range within MAX_AUTO_BUCKETS buckets. */
const AUTO_STEPS_MS = [1, 5, 15, 30, 60].map((minutes) => minutes * MINUTE_MS);
const MAX_AUTO_BUCKETS = 60;
const MAX_BUCKETS = 1440;

export interface Bucket {
  startMs: number;
  total: number;
  /** Lines by level (in severity order) or by pod (most first); only what is there. */
  counts: [string, number][];
}

export interface Stats {
  fromMs: number;
  toMs: number;
  stepMs: number;
  by: Grouping;
  total: number;
  buckets: Bucket[];
}

export interface LabelValue {
  value: string;
  lines: number;
  lastSeenMs: number;
}

export interface LabelValues {
  label: LabelName;
  fromMs: number;
  toMs: number;
  values: LabelValue[];
}

@Injectable()
export class StatsService {
  constructor(
    @Inject(LOG_STORE) private readonly store: LogStore,
    @Inject(DAYLOG_CONFIG) private readonly config: DaylogConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly budgets: ScanBudgets,
    private readonly metrics: AggregatorMetrics,
  ) {}

  /** Lines per bucket up to now (or `to`), every bucket of the range present, empty ones with 0. */
  async stats(params: StatsDto, scope: NamespaceScope, asker: Asker): Promise<Stats> {
    const now = this.clock.now();
    const filter = lineFilterOf(params, scope, now, this.config.retentionMs, now + 1);
    const stepMs = params.step === undefined ? this.autoStep(filter.toMs - filter.fromMs) : this.checkedStep(params.step);
    const firstStart = filter.fromMs - (filter.fromMs % stepMs);
    const bucketCount = Math.ceil((filter.toMs - firstStart) / stepMs);
    if (bucketCount > MAX_BUCKETS) {
      throw badParam('step', `step gives ${bucketCount} buckets over this range, more than ${MAX_BUCKETS}: give a larger step or a shorter range`);
    }
    const by = params.by ?? 'level';
    const grouped = Array.from({ length: bucketCount }, () => new Map<string, number>());
    let total = 0;
    for (const count of await this.count({ ...filter, bucketMs: stepMs }, asker)) {
      const key = by === 'level' ? count.level : count.labels.pod!;
      const bucket = grouped[(count.startMs - firstStart) / stepMs];
      bucket.set(key, (bucket.get(key) ?? 0) + count.lines);
      total += count.lines;
    }
    const buckets = grouped.map((counts, i): Bucket => {
      const entries = [...counts.entries()];
      if (by === 'level') entries.sort((a, b) => LEVELS.indexOf(a[0] as never) - LEVELS.indexOf(b[0] as never));
      else entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
      return { startMs: firstStart + i * stepMs, total: entries.reduce((sum, [, n]) => sum + n, 0), counts: entries };
    });
    return { fromMs: filter.fromMs, toMs: filter.toMs, stepMs, by, total, buckets };
  }

  /** The values a label takes in the range, with their line counts and when each was last seen. */
  async labelValues(label: string, params: LabelValuesDto, scope: NamespaceScope, asker: Asker): Promise<LabelValues> {
    if (!(LABEL_PATHS as readonly string[]).includes(label)) {
      throw new NotFoundException({ error: `no label named ${JSON.stringify(label)}: use ${LABEL_PATHS.join(', ')}` });
    }
    const name = label as LabelName;
    const now = this.clock.now();
    const filter = lineFilterOf(params, scope, now, this.config.retentionMs, now + 1);
    const values = new Map<string, LabelValue>();
    for (const count of await this.count({ ...filter, bucketMs: null }, asker)) {
      const value = count.labels[name];
      if (value === null) continue;
      const seen = values.get(value);
      if (!seen) values.set(value, { value, lines: count.lines, lastSeenMs: count.lastTs });
      else {
        seen.lines += count.lines;
        seen.lastSeenMs = Math.max(seen.lastSeenMs, count.lastTs);
      }
    }
    return { label: name, fromMs: filter.fromMs, toMs: filter.toMs, values: [...values.values()].sort((a, b) => a.value.localeCompare(b.value)) };
  }

  private async count(query: CountQuery, asker: Asker): Promise<LineCount[]> {
    try {
      return await this.store.count(query, this.budgets.start(asker));
    } catch (error) {
      if (error instanceof QueryBudgetExceeded) this.metrics.countStoppedSearch(error.stop);
      if (error instanceof QueryCancelled) this.metrics.countStoppedSearch('client_gone');
      throw error;
    }
  }

  /** `since=1h` is a range a little over an hour (to is now, inclusive): it counts as its whole minutes. */
  private autoStep(rangeMs: number): number {
    const minutes = rangeMs - (rangeMs % MINUTE_MS);
    return AUTO_STEPS_MS.find((step) => minutes / step <= MAX_AUTO_BUCKETS) ?? HOUR_MS;
  }

  private checkedStep(text: string): number {
    const stepMs = parseDuration(text)!;
    if (stepMs % MINUTE_MS !== 0 || stepMs < MINUTE_MS || stepMs > HOUR_MS) {
      throw badParam('step', 'step must be a whole number of minutes from 1m to 1h');
    }
    return stepMs;
  }
}
