/**
 * The environment a process started by a test gets besides its own settings: PATH, and the variables
 * of libfaketime when the suite runs with the clock moved (npm run test:clock-ahead), so that every
 * process of a test reads the same clock, as they would on a machine whose clock is wrong.
 */
export function inheritedEnv(): Record<string, string> {
  const inherited: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && (name === 'PATH' || name === 'LD_PRELOAD' || name.startsWith('FAKETIME'))) inherited[name] = value;
  }
  return inherited;
}
