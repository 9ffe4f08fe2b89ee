import { readFileSync } from 'node:fs';
import { ConfigError } from './config-error';

/** A setting's text and the variable it came from: `NAME` itself, or `NAME_FILE` for a file that holds it. */
export interface SettingText {
  variable: string;
  text: string;
  /** The file's path when it came from `NAME_FILE`: what a message may show of a secret. */
  file: string | null;
}

/**
 * `NAME`, or the contents of the file `NAME_FILE` names (a Kubernetes Secret mounted as a file), trimmed; null
 * when neither is set (an empty value is unset). Both at once is an error: which one wins would be a guess.
 */
export function variableOrFile(env: NodeJS.ProcessEnv, name: string): SettingText | null {
  const fileVariable = `${name}_FILE`;
  const direct = env[name]?.trim();
  const file = env[fileVariable]?.trim();
  if (direct && file) throw new ConfigError(name, '<set>', `set ${name} or ${fileVariable}, not both`);
  if (direct) return { variable: name, text: direct, file: null };
  if (!file) return null;
  try {
    return { variable: fileVariable, text: readFileSync(file, 'utf8').trim(), file };
  } catch (error) {
    throw new ConfigError(fileVariable, file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
}
