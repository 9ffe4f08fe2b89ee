/** What the page reads of the API. Every request goes to the page's own origin; the token goes in a header. */

/** A line as GET /api/v1/logs?format=json gives it. */
export interface Line {
  ts: string;
  level: string;
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
  message: string;
  fields?: Record<string, string | number | boolean>;
  cursor: string;
}

export interface Page {
  lines: Line[];
  nextCursor: string | null;
  /** The search stopped at the server's limit of lines read or time before the page was full. */
  stopped: 'lines' | 'time' | null;
}

/** A line with its neighbours, as GET /api/v1/logs/context?format=json gives them. */
export interface Context {
  before: Line[];
  line: Line;
  after: Line[];
}

/** Counts over time, as GET /api/v1/stats?format=json gives them. */
export interface Counts {
  from: string;
  to: string;
  step: string;
  total: number;
  buckets: { start: string; total: number; counts: Record<string, number> }[];
}

export const LABELS = ['namespace', 'pod', 'container', 'source'] as const;
export type LabelName = (typeof LABELS)[number];

/** The values of a label, as GET /api/v1/labels/{label}?format=json gives them. */
export interface LabelValues {
  values: { value: string; lines: number; lastSeen: string }[];
}

/** What the live stream sends: a line, or the server's notice of lines it dropped or skipped for this reader. */
export type TailEntry = { kind: 'line'; line: Line } | { kind: 'notice'; text: string };

/** The API said the token is missing or not one of its read tokens: the page asks for one. */
export class TokenNeeded extends Error {}

/** Any other refusal, with the API's own sentence. */
export class ApiError extends Error {}

export function fetchPage(query: URLSearchParams, token: string | null, signal?: AbortSignal): Promise<Page> {
  return read<Page>('/api/v1/logs', query, token, signal);
}

/** The lines around the one a cursor names: `before` older ones and `after` newer ones, of its pod and container. */
export function fetchContext(cursor: string, before: number, after: number, token: string | null, signal?: AbortSignal): Promise<Context> {
  return read<Context>('/api/v1/logs/context', new URLSearchParams({ cursor, before: String(before), after: String(after) }), token, signal);
}

export function fetchCounts(query: URLSearchParams, token: string | null, signal?: AbortSignal): Promise<Counts> {
  return read<Counts>('/api/v1/stats', query, token, signal);
}

export function fetchLabelValues(label: LabelName, query: URLSearchParams, token: string | null, signal?: AbortSignal): Promise<LabelValues> {
  return read<LabelValues>(`/api/v1/labels/${label}`, query, token, signal);
}

function request(path: string, query: URLSearchParams, token: string | null, signal?: AbortSignal): Promise<Response> {
  return fetch(`${path}?${query.toString()}`, { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal });
}

async function refusal(response: Response): Promise<Error> {
  if (response.status === 401) return new TokenNeeded();
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  return new ApiError(body.error ?? `the server answered ${response.status}`);
}

async function read<T>(path: string, query: URLSearchParams, token: string | null, signal?: AbortSignal): Promise<T> {
  const params = new URLSearchParams(query);
  params.set('format', 'json');
  const response = await request(path, params, token, signal);
  if (!response.ok) throw await refusal(response);
  return (await response.json()) as T;
}

/**
 * Follows GET /api/v1/tail?format=ndjson: its newest `limit` lines, then each line as it is stored, handed over
 * as they arrive (a chunk's entries at once). Resolves when the server ends the stream; rejects on a refusal.
 * A fetch stream rather than EventSource, which cannot send the Authorization header.
 */
export async function followTail(
  query: URLSearchParams,
  limit: number,
  token: string | null,
  signal: AbortSignal,
  onEntries: (entries: TailEntry[]) => void,
): Promise<void> {
  const params = new URLSearchParams(query);
  params.set('format', 'ndjson');
  params.set('limit', String(limit));
  const response = await request('/api/v1/tail', params, token, signal);
  if (!response.ok || !response.body) throw await refusal(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let partial = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const texts = (partial + value).split('\n');
    partial = texts.pop() ?? '';
    const entries = texts.filter((text) => text !== '').map(tailEntry);
    if (entries.length > 0) onEntries(entries);
  }
}

function tailEntry(text: string): TailEntry {
  const parsed = JSON.parse(text) as Line & { notice?: string };
  return typeof parsed.notice === 'string' ? { kind: 'notice', text: parsed.notice } : { kind: 'line', line: parsed };
}
