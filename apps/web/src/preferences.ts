/**
 * How the reader likes lines shown: time zone, wrapping, colours. Kept in localStorage, as they are no secret and
 * belong to the reader rather than to a view's URL (the token is never kept there: token.ts).
 */
export interface Preferences {
  utc: boolean;
  wrap: boolean;
  colours: boolean;
}

const KEY = 'daylog.preferences';
const DEFAULTS: Preferences = { utc: false, wrap: true, colours: true };

export function loadPreferences(): Preferences {
  try {
    const stored = JSON.parse(localStorage.getItem(KEY) ?? '{}') as Partial<Preferences>;
    return {
      utc: typeof stored.utc === 'boolean' ? stored.utc : DEFAULTS.utc,
      wrap: typeof stored.wrap === 'boolean' ? stored.wrap : DEFAULTS.wrap,
      colours: typeof stored.colours === 'boolean' ? stored.colours : DEFAULTS.colours,
    };
  } catch {
    return DEFAULTS;
  }
}

export function savePreferences(preferences: Preferences): void {
  localStorage.setItem(KEY, JSON.stringify(preferences));
}
