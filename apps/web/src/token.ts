/**
 * The read token: in memory, or in this tab's sessionStorage when the user asks the page to remember it there;
 * never localStorage or a cookie, so it goes when the tab does.
 */
const KEY = 'daylog.token';

let held: string | null = sessionStorage.getItem(KEY);

export function currentToken(): string | null {
  return held;
}

export function keepToken(token: string, rememberInTab: boolean): void {
  held = token;
  if (rememberInTab) sessionStorage.setItem(KEY, token);
  else sessionStorage.removeItem(KEY);
}

export function forgetToken(): void {
  held = null;
  sessionStorage.removeItem(KEY);
}
