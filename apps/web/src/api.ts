/** What the page reads of the API: pages of lines as GET /api/v1/logs?format=json gives them. */
export interface Line {
  ts: string;
  level: string;
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
  message: string;
  cursor: string;
}

export interface Page {
  lines: Line[];
  nextCursor: string | null;
}

/** A line with its neighbours, as GET /api/v1/logs/context?format=json gives them. */
export interface Context {
  before: Line[];
  line: Line;
  after: Line[];
}

/** The API said the token is missing or not one of its read tokens: the page asks for one. */
export class TokenNeeded extends Error {}

/** Any other refusal, with the API's own sentence. */
export class ApiError extends Error {}

/**
 * A page of lines for the query string. The token goes in the Authorization header, never in a URL; every
 * request goes to the page's own origin.
 */
export function fetchPage(query: URLSearchParams, token: string | null, signal?: AbortSignal): Promise<Page> {
  return read<Page>('/api/v1/logs', query, token, signal);
}

/** The lines around the one a cursor names: `before` older ones and `after` newer ones, of its pod and container. */
export function fetchContext(cursor: string, before: number, after: number, token: string | null, signal?: AbortSignal): Promise<Context> {
  return read<Context>('/api/v1/logs/context', new URLSearchParams({ cursor, before: String(before), after: String(after) }), token, signal);
}

async function read<T>(path: string, query: URLSearchParams, token: string | null, signal?: AbortSignal): Promise<T> {
  const params = new URLSearchParams(query);
  params.set('format', 'json');
  const response = await fetch(`${path}?${params.toString()}`, {
    headers: token ? { Authorization: `Bearer ${token}` } : {},
    signal,
  });
  if (response.status === 401) throw new TokenNeeded();
  if (!response.ok) {
    const body = (await response.json().catch(() => ({}))) as { error?: string };
    throw new ApiError(body.error ?? `the server answered ${response.status}`);
  }
  return (await response.json()) as T;
}
