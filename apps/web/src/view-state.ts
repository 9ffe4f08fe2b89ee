/**
 * The view's state is its URL: the query string uses the names of GET /api/v1/logs, so that a view can be shared,
 * and back and forward work. A parameter left out means what it means to the API. The token is never in it.
 */

/** The filters the page passes to the API as they are, in the order they are written back. */
export const FILTERS = ['namespace', 'pod', 'container', 'source', 'level', 'min_level', 'q', 'exclude', 'match', 'regex', 'since', 'from', 'to', 'direction'] as const;
export type FilterName = (typeof FILTERS)[number];

/** A filter may be repeated (`q=a&q=b`), so each holds a list. */
export type ViewState = Partial<Record<FilterName, string[]>>;

export function readViewState(search: string): ViewState {
  const params = new URLSearchParams(search);
  const state: ViewState = {};
  for (const name of FILTERS) {
    const values = params.getAll(name).filter((value) => value !== '');
    if (values.length > 0) state[name] = values;
  }
  return state;
}

/** The query string of a state: for the page's URL and, with format and cursor added, for the API. */
export function viewQuery(state: ViewState): URLSearchParams {
  const params = new URLSearchParams();
  for (const name of FILTERS) for (const value of state[name] ?? []) params.append(name, value);
  return params;
}

/** The state with one filter set to a single value, or removed when the value is empty. */
export function withFilter(state: ViewState, name: FilterName, value: string): ViewState {
  const next: ViewState = { ...state };
  if (value.trim() === '') delete next[name];
  else next[name] = [value];
  return next;
}

/** `context=<a line's cursor>`: the view of the lines around that line, a link anyone with access can open. */
export function contextOf(search: string): string | null {
  return new URLSearchParams(search).get('context') || null;
}

/** The page's query string for a state, with the line whose context is shown. */
export function pageQuery(state: ViewState, context: string | null): string {
  const params = viewQuery(state);
  if (context) params.set('context', context);
  return params.toString();
}
