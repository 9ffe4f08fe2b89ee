import { ConfigError } from './config-error';
import { variableOrFile } from './setting-files';

/** A bearer token, and the namespaces it is limited to (null: every namespace). */
export interface TokenGrant {
  token: string;
  namespaces: string[] | null;
}

export const MIN_TOKEN_LENGTH = 16;
const TOKEN = /^[\x21-\x7e]+$/;
const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const GRAMMAR = `expected tokens of at least ${MIN_TOKEN_LENGTH} visible ASCII characters (no , = or |), each optionally limited to namespaces as token=shop|payments`;

/** `token` or `token=ns1|ns2`, however they were listed (commas in a variable, lines in a file). */
function parseGrant(text: string, name: string, shown: string): TokenGrant {
  const [token, scope, extra] = text.split('=');
  // The token is never echoed: the message says where it is and what is wrong with it.
  const bad = (why: string) => new ConfigError(name, shown, `${why}; ${GRAMMAR}`);
  if (extra !== undefined) throw bad('a token has more than one =');
  if (token.length < MIN_TOKEN_LENGTH || !TOKEN.test(token) || /[,|]/.test(token)) throw bad('a token is too short or has a character not allowed');
  if (scope === undefined) return { token, namespaces: null };
  const namespaces = scope.split('|');
  if (namespaces.some((ns) => !NAMESPACE.test(ns))) throw bad('a namespace after = is not a Kubernetes namespace name');
  return { token, namespaces };
}

/**
 * The tokens of one kind from `NAME` (comma-separated) or `NAME_FILE` (one a line, as a mounted secret),
 * or null when neither is set: that kind of request is then open.
 */
export function loadTokens(env: NodeJS.ProcessEnv, name: string): TokenGrant[] | null {
  const setting = variableOrFile(env, name);
  if (setting === null) return null;
  const shown = setting.file ?? '<tokens>';
  const grants = setting.text
    .split(setting.file === null ? ',' : '\n')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (grants.length === 0) throw new ConfigError(setting.variable, shown, 'holds no token');
  return grants.map((entry) => parseGrant(entry, setting.variable, shown));
}
