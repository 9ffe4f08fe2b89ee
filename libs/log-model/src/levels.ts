/** The six canonical levels, lowest first: their position is their severity. */
export const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type Level = (typeof LEVELS)[number];

const ALIASES: Readonly<Record<string, Level>> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  error: 'error',
  err: 'error',
  fatal: 'fatal',
  crit: 'fatal',
  critical: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  panic: 'fatal',
};

export const ACCEPTED_LEVEL_NAMES = Object.keys(ALIASES).join(', ');

/** Case-insensitive; aliases such as `warning` or `crit` map to their canonical level. */
export function normalizeLevel(name: string): Level | undefined {
  const key = name.toLowerCase();
  // Own keys only: `constructor` or `__proto__` are not levels.
  return Object.hasOwn(ALIASES, key) ? ALIASES[key] : undefined;
}

export function severityOf(level: Level): number {
  return LEVELS.indexOf(level);
}

/** `min_level=warn` → warn, error, fatal. */
export function levelsAtOrAbove(level: Level): Level[] {
  return LEVELS.slice(severityOf(level));
}

const LEADING_LEVEL =
  /^\s*[[(<]?(trace|debug|info|notice|warn|warning|error|err|fatal|crit|critical|alert|emerg|panic)[\])>]?(?=[\s:|-])/i;

/** The level a plain-text line starts with (`ERROR …`, `[warn] …`, `WARNING: …`), if it starts with one. */
export function leadingLevel(text: string): Level | undefined {
  const word = LEADING_LEVEL.exec(text);
  return word ? normalizeLevel(word[1]) : undefined;
}
