import { ConfigError } from './config-error';
import { PostgresSettings } from './daylog-config';
import { POSTGRES_URL_HINT, postgresUrlProblem, shownPostgresUrl } from './postgres-url';
import { SettingText, variableOrFile } from './setting-files';

/** Settings of the embedded engine alone: without effect when PostgreSQL is chosen, which keeps no files. */
export const SQLITE_ONLY_SETTINGS = ['DAYLOG_DATA_DIR', 'DAYLOG_SYNCHRONOUS', 'DAYLOG_MAX_DISK', 'DAYLOG_COMPRESSION'] as const;

/** HKDF's input for the cursor keys: 32 characters are at least 128 bits even as hex, 192 as base64. */
const MIN_CURSOR_SECRET_LENGTH = 32;

/** PostgreSQL's settings from DAYLOG_POSTGRES_URL (or its _FILE), checked; the URL's password is in no message. */
export function postgresSettings(setting: SettingText, connectTimeoutMs: number): PostgresSettings {
  const shownUrl = shownPostgresUrl(setting.text);
  if (setting.file !== null && setting.text === '') throw new ConfigError(setting.variable, setting.file, `the file is empty; ${POSTGRES_URL_HINT}`);
  const problem = postgresUrlProblem(setting.text);
  if (problem !== null) {
    throw setting.file === null
      ? new ConfigError(setting.variable, shownUrl, `the URL ${problem}; ${POSTGRES_URL_HINT}`)
      : new ConfigError(setting.variable, setting.file, `the URL in it (${shownUrl}) ${problem}; ${POSTGRES_URL_HINT}`);
  }
  return { url: setting.text, shownUrl, variable: setting.variable, connectTimeoutMs };
}

/** DAYLOG_CURSOR_SECRET (or _FILE): what every replica derives its cursor keys from; null when unset. Never echoed. */
export function loadCursorSecret(env: NodeJS.ProcessEnv): Buffer | null {
  const setting = variableOrFile(env, 'DAYLOG_CURSOR_SECRET');
  if (setting === null) return null;
  const length = [...setting.text].length;
  if (length < MIN_CURSOR_SECRET_LENGTH) {
    throw new ConfigError(
      setting.variable,
      setting.file ?? '<secret>',
      `expected a secret of at least ${MIN_CURSOR_SECRET_LENGTH} characters, the same on every replica (this one has ${length}), e.g. from openssl rand -base64 32`,
    );
  }
  return Buffer.from(setting.text, 'utf8');
}
