/** A bad setting, said in one line: the variable, its value, and what is accepted. */
export class ConfigError extends Error {
  constructor(name: string, value: string, expected: string) {
    super(`${name}=${JSON.stringify(value)} is not valid: ${expected}`);
    this.name = 'ConfigError';
  }
}
