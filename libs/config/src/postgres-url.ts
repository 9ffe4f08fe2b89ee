/** What DAYLOG_POSTGRES_URL takes, said in every message about it. */
export const POSTGRES_URL_HINT =
  'expected a libpq URL such as postgres://user:password@host:5432/database, or postgres://user@/database?host=/run/postgresql for a Unix socket';

const SCHEME = /^postgres(ql)?:\/\//i;
/** A scheme as URLs write it: what of an unreadable URL can be shown. */
const ANY_SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
/** Credentials before an empty host (`user@/db?host=/dir`, a Unix socket): valid for libpq, not for WHATWG's URL. */
const EMPTY_HOST_AFTER_CREDENTIALS = /^([^/]*\/\/[^/?#]*@)(?=[/?#]|$)/;
/** `password=`, and any other parameter whose name ends so (`sslpassword=`). */
const PASSWORD_PARAMETER = /([?&][a-z_]*password=)[^&#]*/gi;

/** The URL as WHATWG's parser reads it, a placeholder host standing in for an empty one; null when it cannot be read. */
function parsed(text: string): URL | null {
  try {
    return new URL(text.replace(EMPTY_HOST_AFTER_CREDENTIALS, '$1localhost'));
  } catch {
    return null;
  }
}

/**
 * The URL as a message may show it: the password (between the user's `:` and the last `@`, and a `password=`
 * parameter) replaced by `***`. A URL that cannot be read is shown by its scheme alone, since where its
 * password ends cannot be told. Errs on the side of hiding more.
 */
export function shownPostgresUrl(text: string): string {
  if (parsed(text) === null) return `${ANY_SCHEME.exec(text)?.[0] ?? ''}…`;
  let shown = text;
  const at = text.lastIndexOf('@');
  if (at !== -1) {
    const slashes = text.indexOf('//');
    const colon = text.indexOf(':', slashes === -1 || slashes > at ? 0 : slashes + 2);
    if (colon !== -1 && colon < at) shown = `${text.slice(0, colon + 1)}***${text.slice(at)}`;
  }
  return shown.replace(PASSWORD_PARAMETER, '$1***');
}

/**
 * What is wrong with a libpq URL, to follow "the URL" in a sentence and said without its password; null when pg
 * can connect with it.
 */
export function postgresUrlProblem(text: string): string | null {
  if (!SCHEME.test(text)) return 'does not start with postgres:// or postgresql://';
  const url = parsed(text);
  if (url === null) return 'cannot be read (is the port a number from 1 to 65535? are @ : / ? # in the user name or password written %40 %3A %2F %3F %23?)';
  try {
    decodeURIComponent(url.username);
    decodeURIComponent(url.password);
    decodeURIComponent(url.pathname);
  } catch {
    return 'has a % that does not start a %-escape of UTF-8 (write % itself as %25)';
  }
  const port = url.searchParams.get('port');
  if (port !== null && !(/^\d{1,5}$/.test(port) && +port >= 1 && +port <= 65535)) return 'has a port= parameter that is not a port from 1 to 65535';
  return null;
}
