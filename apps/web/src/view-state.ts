/**
 * The view's state is its URL: the query string uses the names of GET /api/v1/logs, so that a view can be shared,
 * and back and forward work. A parameter left out means what it means to the API. The token is never in it.
 */

/** The filters the page passes to the API as they are, in the order they are written back. */
export const FILTERS = [
  'namespace',
  'pod',
  'container',
  'source',
  'level',
  'min_level',
  'q',
  'exclude',
  'match',
  'regex',
  'field',
  'exclude_field',
  'since',
  'from',
  'to',
  'direction',
] as const;
export type FilterName = (typeof FILTERS)[number];

/** A filter may be repeated (`q=a&q=b`), so each holds a list. */
export type ViewState = Partial<Record<FilterName, string[]>>;

/** Where the page is: the lines of the filters, the lines around one line (`context=<cursor>`), or following (`live=1`). */
export interface Place {
  view: ViewState;
  context: string | null;
  live: boolean;
}

export function readPlace(search: string): Place {
  const params = new URLSearchParams(search);
  const view: ViewState = {};
  for (const name of FILTERS) {
    const values = params.getAll(name).filter((value) => value !== '');
    if (values.length > 0) view[name] = values;
  }
  return { view, context: params.get('context') || null, live: params.get('live') === '1' };
}

/** The page's query string for a place. */
export function placeQuery({ view, context, live }: Place): string {
  const params = viewQuery(view);
  if (context) params.set('context', context);
  else if (live) params.set('live', '1');
  return params.toString();
}

/** The query string of a state: for the page's URL and, with format and cursor added, for the API. */
export function viewQuery(state: ViewState, leaveOut: readonly FilterName[] = []): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of FILTERS) if (!leaveOut.includes(name)) for (const value of state[name] ?? []) params.append(name, value);
  return params;
}

/**
 * The filters of the counts and the live stream: those of the lines without `direction`, which only orders a
 * page (the histogram and the stream have their own order).
 */
export const countQuery = (state: ViewState, leaveOut: readonly FilterName[] = []): URLSearchParams => viewQuery(state, ['direction', ...leaveOut]);

/** The state with one filter set to these values, or removed when there are none. */
export function withValues(state: ViewState, name: FilterName, values: readonly string[]): ViewState {
  const next: ViewState = { ...state };
  const kept = values.filter((value) => value.trim() !== '');
  if (kept.length === 0) delete next[name];
  else next[name] = [...kept];
  return next;
}

/** The state with one filter set to a single value, or removed when the value is empty. */
export const withFilter = (state: ViewState, name: FilterName, value: string): ViewState => withValues(state, name, [value]);

/** The state with a time range instead of whatever range it had (a `since` included). */
export function withRange(state: ViewState, from: string | null, to: string | null): ViewState {
  return withValues(withValues(withValues(state, 'since', []), 'from', from ? [from] : []), 'to', to ? [to] : []);
}
