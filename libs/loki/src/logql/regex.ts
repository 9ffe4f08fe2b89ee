import { compileUserRegex } from '@daylog/log-model';
import { RegexRefused, translateRe2 } from './re2-translation';

/** `(?i)`, `(?is)`, `(?i)(?s)`…: RE2's flags, which LogQL's documentation offers, and only at the very start. */
const LEADING_FLAGS = /^\(\?([a-zA-Z]+)\)/;

/** RE2 takes the empty expression (it matches everywhere: `{app=~""}`), which compileUserRegex refuses as a query parameter. */
const EMPTY = '(?:)';

/**
 * A LogQL regular expression (RE2 syntax) as a JavaScript RegExp that tests a line in linear time, or the
 * sentence that says why it is refused. `anchored`: the whole value must match, as for label matchers
 * and label filters (`^(?:re)$`); line filters (`|~`, `!~`) match anywhere in the line.
 */
export function logqlRegex(source: string, anchored: boolean): RegExp | string {
  let body = source;
  const flags = new Set<string>();
  for (let found = LEADING_FLAGS.exec(body); found; found = LEADING_FLAGS.exec(body)) {
    for (const flag of found[1]) {
      if (!'ism'.includes(flag)) return `regex flag (?${flag}) is not supported: only (?i), (?s) and (?m) are`;
      flags.add(flag);
    }
    body = body.slice(found[0].length);
  }
  if (anchored && flags.has('m')) {
    return 'regex flag (?m) cannot be used where the whole value must match: leave it out';
  }
  try {
    // Prometheus matches label values with `^(?s:re)$`: there a dot matches newlines too.
    const dotAll = anchored || flags.has('s');
    const translated = translateRe2(body, { caseless: flags.has('i'), dotAll }) || EMPTY;
    const jsFlags = (dotAll ? 's' : '') + (flags.has('m') ? 'm' : '');
    return compileUserRegex(anchored ? `^(?:${translated})$` : translated, { flags: jsFlags, written: source || EMPTY });
  } catch (error) {
    if (error instanceof RegexRefused) return error.message;
    throw error;
  }
}
