import { LogSelection, Query } from '../logql/ast';
import { LogqlError, parseLogql } from '../logql/parse';
import { NS_PER_MS, ceilMs, floorMs, lokiDurationMs, lokiTimeNs } from './loki-times';

/** A parameter Loki's API would refuse: a 400 whose text says which and why, as Loki's plain-text errors do. */
export class LokiBadRequest extends Error {}

/** A query string as Fastify gives it: a repeated parameter is an array. */
export type RawParams = Record<string, string | string[] | undefined>;

/** Loki's default for `limit`, and Daylog's most lines in one answer (Loki's max_entries_limit_per_query). */
const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 5000;
/** Loki refuses a range query of more points than this per series. */
const MAX_POINTS = 11_000;
const DEFAULT_SINCE_MS = 3_600_000;
const NS_PER_SECOND = 1_000_000_000n;

export function single(params: RawParams, name: string): string | undefined {
  const value = params[name];
  if (Array.isArray(value)) {
    if (value.length > 1) throw new LokiBadRequest(`${name} may be given once`);
    return value[0];
  }
  return value;
}

export function all(params: RawParams, name: string): string[] {
  const value = params[name];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function timeParam(params: RawParams, name: string, fallbackNs: bigint): bigint {
  const text = single(params, name);
  if (text === undefined || text === '') return fallbackNs;
  const ns = lokiTimeNs(text);
  if (ns === undefined) throw new LokiBadRequest(`invalid ${name}: ${JSON.stringify(text)} is not a time: give seconds since the epoch (1700000000 or 1700000000.5), nanoseconds (1700000000000000000) or RFC 3339`);
  return ns;
}

export function queryParam(params: RawParams): Query {
  const text = single(params, 'query');
  if (text === undefined || text.trim() === '') throw new LokiBadRequest('query is missing: give a LogQL query, such as {pod="web"} |= "timeout"');
  try {
    return parseLogql(text);
  } catch (error) {
    if (error instanceof LogqlError) throw new LokiBadRequest(error.message);
    throw error;
  }
}

/** `start` and `end` in nanoseconds, Loki's way: `end` defaults to now, `start` to `since` (1h) before it. */
export interface TimeRange {
  startNs: bigint;
  endNs: bigint;
}

export function timeRange(params: RawParams, nowMs: number): TimeRange {
  const endNs = timeParam(params, 'end', BigInt(nowMs) * NS_PER_MS);
  const sinceText = single(params, 'since');
  const sinceMs = sinceText === undefined ? DEFAULT_SINCE_MS : lokiDurationMs(sinceText);
  if (sinceMs === undefined || sinceMs <= 0) throw new LokiBadRequest(`invalid since: ${JSON.stringify(sinceText)} is not a duration such as 1h or 30m`);
  const startNs = timeParam(params, 'start', (endNs < BigInt(nowMs) * NS_PER_MS ? endNs : BigInt(nowMs) * NS_PER_MS) - BigInt(Math.round(sinceMs)) * NS_PER_MS);
  if (endNs < startNs) throw new LokiBadRequest('invalid start and end: end must not be before start');
  return { startNs, endNs };
}

/** The lines of a range as whole milliseconds: `start` inclusive, `end` exclusive, exactly as in nanoseconds. */
export function lineWindow({ startNs, endNs }: TimeRange): { fromMs: number; toMs: number } {
  return { fromMs: ceilMs(startNs), toMs: ceilMs(endNs) };
}

export function limitParam(params: RawParams): number {
  const text = single(params, 'limit');
  if (text === undefined || text === '') return DEFAULT_LIMIT;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1) throw new LokiBadRequest(`invalid limit: ${JSON.stringify(text)}: give a whole number of lines of at least 1`);
  if (limit > MAX_LIMIT) throw new LokiBadRequest(`max entries limit per query exceeded, limit > max_entries_limit (${limit} > ${MAX_LIMIT})`);
  return limit;
}

/** `forward` or `backward` in any case (logcli writes BACKWARD); backward by default. */
export function directionParam(params: RawParams): 'forward' | 'backward' {
  const text = single(params, 'direction');
  if (text === undefined || text === '') return 'backward';
  const direction = text.toLowerCase();
  if (direction !== 'forward' && direction !== 'backward') throw new LokiBadRequest(`invalid direction: ${JSON.stringify(text)}: give forward or backward`);
  return direction;
}

/**
 * The points of a range query, `step` apart in whole milliseconds (a line's time has no finer grain), as many as fall
 * in [start, end]. They sit one millisecond before whole steps since the epoch (Loki's `align_queries_with_step`, but
 * for that millisecond): a point at t counts the lines of (t − range, t], so its window is then whole steps, or
 * whole minutes, which per-minute totals answer without reading the lines, and a histogram's bars stay where they
 * are as time goes on. `step` defaults as Loki's does: a 250th of the range, at least a second.
 */
export function stepGrid(params: RawParams, range: TimeRange): { startMs: number; stepMs: number; count: number } {
  const text = single(params, 'step');
  const rangeNs = range.endNs - range.startNs;
  const stepMs = text === undefined || text === '' ? Math.max(Number(rangeNs / NS_PER_SECOND / 250n), 1) * 1000 : lokiDurationMs(text);
  if (stepMs === undefined || stepMs <= 0 || !Number.isInteger(stepMs)) {
    throw new LokiBadRequest(`invalid step: ${JSON.stringify(text)}: give a positive whole number of milliseconds, as seconds (60, 0.5) or a duration (15000ms, 1m)`);
  }
  const firstStep = Math.ceil((ceilMs(range.startNs) + 1) / stepMs);
  const lastStep = Math.floor((floorMs(range.endNs) + 1) / stepMs);
  const count = Math.max(lastStep - firstStep + 1, 0);
  if (count > MAX_POINTS) {
    throw new LokiBadRequest(`exceeded maximum resolution of ${MAX_POINTS} points per timeseries. Try decreasing the query resolution (?step=XX)`);
  }
  return { startMs: firstStep * stepMs - 1, stepMs, count };
}

/** An instant query's time, `time` or now. */
export function instantTime(params: RawParams, nowMs: number): bigint {
  return timeParam(params, 'time', BigInt(nowMs) * NS_PER_MS);
}

/** What a live tail (`/loki/api/v1/tail`) takes: a log query, the newest `limit` lines since `start` to begin with. */
export interface TailParams {
  selection: LogSelection;
  limit: number;
  startNs: bigint;
}

/** Loki's longest `delay_for`, in seconds: Daylog hands lines over in the order they were stored, and waits for none. */
const MAX_DELAY_FOR = 5;

export function tailParams(params: RawParams, nowMs: number): TailParams {
  const query = queryParam(params);
  if (query.kind !== 'log') throw new LokiBadRequest('a live tail follows a log query, not a metric query: give a stream selector with its pipeline');
  const delay = single(params, 'delay_for');
  if (delay !== undefined && delay !== '' && !(/^\d+$/.test(delay) && Number(delay) <= MAX_DELAY_FOR)) {
    throw new LokiBadRequest(`invalid delay_for: ${JSON.stringify(delay)}: give a whole number of seconds from 0 to ${MAX_DELAY_FOR}`);
  }
  return { selection: query.selection, limit: limitParam(params), startNs: timeParam(params, 'start', BigInt(nowMs - DEFAULT_SINCE_MS) * NS_PER_MS) };
}
