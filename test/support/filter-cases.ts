import assert from 'node:assert/strict';
import fc from 'fast-check';
import { FieldCondition, FieldValue, Fields, LEVELS, Level, MessageFormat, fieldEquals, fieldText, levelsAtOrAbove, parseMatchExpression, searchableFields, tokens } from '@daylog/log-model';
import { LineFilter } from '@daylog/storage';
import { HOUR, MINUTE, ManualClock } from './test-app';

/**
 * Random lines and filters that tell a filter's meanings apart (filter-terms.ts): each case a filter, a line
 * that passes it (the witness), its neighbours that differ from it by one thing each, and other lines. Shared by
 * the property tests of every reader of lines: the HTTP query and tail, and each engine's reads.
 */

/** The namespaces a scoped token may see. */
export const SCOPE = ['alpha', 'beta'];

/**
 * Words whose case and accents tell the filters apart: LIKE folds ASCII letters only, the word matcher
 * folds case and marks everywhere (a combining accent, a dotted capital I, a Kelvin sign, a sharp s).
 */
const WORDS = [
  'error', 'Error', 'ERROR', 'timeout', 'TimeOut', 'café', 'CAFÉ', 'cafe', 'Cafe\u0301', 'naïve', 'NAÏVE', 'Straße', 'STRASSE',
  'İstanbul', 'istanbul', 'Ωmega', 'ωmega', '日本語', '東京駅', 'payment', 'declined', 'GET', 'get', 'id=42', '42', '4200',
  '100%', 'under_score', 'back\\slash', 'x', '\u212a', 'k',
];
const CHARACTERS = [...'aAzZeE019 -.,:;/"%_\\\'éÉßẞ日本öÖıİω'];
const SEPARATORS = [' ', ' ', '', '-', ': ', '/', '\t'];

const messageArb = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...WORDS), fc.string({ unit: fc.constantFrom(...CHARACTERS), minLength: 1, maxLength: 6 })), fc.constantFrom(...SEPARATORS)), {
    minLength: 1,
    maxLength: 6,
  })
  .map((pieces) => pieces.map(([piece, separator]) => piece + separator).join(''))
  .filter((message) => message.trim() !== '');

/** Field names and values that tell field filters apart: a number and its text, booleans and theirs, a value with colons, an empty one. */
const FIELD_NAMES = ['status', 'route', 'ok', 'upstream', 'user', 'latency', 'method', 'Status'];
const FIELD_VALUES: FieldValue[] = [500, 200, '500', '200', true, false, 'true', '', '10.0.0.1:8080', 0.25, '0.25', '/pay', '/Pay', 'GET'];
const fieldsArb: fc.Arbitrary<Fields> = fc.dictionary(fc.constantFrom(...FIELD_NAMES), fc.constantFrom(...FIELD_VALUES), { minKeys: 1, maxKeys: 3 });

/** A message that is a JSON object: plain values, and some that are not fields (nested, a list, null), maybe with spaces around. */
const jsonMessageArb = fc
  .tuple(
    fc.dictionary(fc.constantFrom(...FIELD_NAMES), fc.oneof({ arbitrary: fc.constantFrom(...FIELD_VALUES), weight: 4 }, fc.constantFrom<unknown>({ status: 500 }, [500], null)), { maxKeys: 3 }),
    fc.constantFrom('', ' ', '\t'),
  )
  .map(([object, space]) => `${space}${JSON.stringify(object)}${space}`);

/** An nginx access line: its fields (status, method, path, request_time, …) are read from it when it is read. */
const nginxMessageArb = fc
  .tuple(fc.constantFrom('GET', 'POST'), fc.constantFrom('/pay', '/health'), fc.constantFrom(200, 500, 404), fc.constantFrom('0.25', '0.004'))
  .map(([method, path, status, time]) => `10.0.0.1 - - [24/Nov/2026:09:00:00 +0000] "${method} ${path} HTTP/1.1" ${status} 12 "-" "curl/8" ${time}`);

/** A line's message with its format: plain text mostly, a JSON object or an nginx access line sometimes. */
const textArb = fc.oneof(
  { arbitrary: messageArb.map((message): Pick<LineSpec, 'message' | 'format'> => ({ message, format: null })), weight: 6 },
  { arbitrary: jsonMessageArb.map((message): Pick<LineSpec, 'message' | 'format'> => ({ message, format: null })), weight: 1 },
  { arbitrary: nginxMessageArb.map((message): Pick<LineSpec, 'message' | 'format'> => ({ message, format: 'nginx-access' })), weight: 1 },
);

/** Absent mostly: a filter of a few terms keeps enough lines, and lines that differ by one term, to tell meanings apart. */
const seldom = <T>(arbitrary: fc.Arbitrary<T>, weight = 1): fc.Arbitrary<T | undefined> =>
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 3 }, { arbitrary, weight });
const fewOf = <T>(arbitrary: fc.Arbitrary<T>): fc.Arbitrary<T[]> =>
  fc.oneof({ arbitrary: fc.constant<T[]>([]), weight: 6 }, { arbitrary: fc.array(arbitrary, { minLength: 1, maxLength: 1 }), weight: 3 }, { arbitrary: fc.array(arbitrary, { minLength: 2, maxLength: 2 }), weight: 1 });

/** Expressions the edge accepts, each with a text it finds. */
const REGEXES = [
  { source: 'err(or)?', sample: 'err' },
  { source: '\\d{3}', sample: '123' },
  { source: '^[A-Z]', sample: 'Q' },
  { source: 'caf[eé]', sample: 'café' },
  { source: '[^\\x00-\\x7f]', sample: 'ö' },
  { source: 'time.?out', sample: 'time-out' },
  { source: '\\bid=\\d+', sample: 'id=7' },
  { source: '(?:GET|POST) /', sample: 'POST /' },
  { source: '日本', sample: '日本' },
  { source: 'ß|ss', sample: 'ss' },
  // Runs every match holds, which readers look for first (requiredSubstrings): in any case, and beyond ASCII.
  { source: 'took \\d+ms', sample: 'took 12ms' },
  { source: 'Took', sample: 'Took' },
  { source: 'café au l', sample: 'café au lait' },
];

export interface LineSpec {
  ts: number;
  level: Level;
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
  message: string;
  fields: Fields | null;
  format: MessageFormat | null;
}

/** The cases' now: their lines are of the retention before it. */
export const clock = new ManualClock();
export const RETENTION_MS = 24 * HOUR;
/** On whole minutes mostly, a millisecond off sometimes: lines share their time, and meet the edges of a range. */
const offMinuteArb = fc.constantFrom(0, 0, 0, 1, -1);
const ageArb = fc.tuple(fc.integer({ min: 1, max: RETENTION_MS / MINUTE - 10 }), offMinuteArb).map(([minutes, off]) => minutes * MINUTE + off);

export const lineArb = (namespaces: (string | null)[]): fc.Arbitrary<LineSpec> =>
  fc
    .record({
      ts: ageArb.map((age) => clock.now() - age),
      level: fc.constantFrom(...LEVELS),
      namespace: fc.constantFrom(...namespaces),
      pod: fc.tuple(fc.constantFrom('web', 'api', 'Web', 'db-main', 'café'), fc.nat(149)).map(([name, n]) => `${name}-${n}`),
      container: fc.constantFrom('nginx', 'app', 'sidecar', null),
      source: fc.constantFrom('stdout', 'stderr', null),
      text: textArb,
      fields: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, fieldsArb),
    })
    .map(({ text, ...line }) => ({ ...line, ...text }));

/** How a label pattern is made from a value it matches: the value, or part of it given up to a star; sometimes with an alternative. */
const patternArb = fc.record({
  kind: fc.constantFrom('exact', 'prefix', 'suffix', 'middle', 'any'),
  at: fc.nat(),
  length: fc.nat(),
  alternative: seldom(fc.constantFrom('web-1*', '*-7', 'api-*', 'gamma', 'nginx')),
});

function labelPattern(value: string | null, choice: PatternChoice | undefined): string | undefined {
  if (value === null || choice === undefined) return undefined;
  const { kind, at, length, alternative } = choice;
  const k = at % (value.length + 1);
  const pattern = {
    exact: value,
    prefix: `${value.slice(0, k)}*`,
    suffix: `*${value.slice(k)}`,
    middle: `${value.slice(0, k)}*${value.slice(k + (length % (value.length - k + 1)))}`,
    any: '*',
  }[kind];
  return alternative === undefined ? pattern : `${pattern},${alternative}`;
}

const flipAsciiCase = (text: string, bits: number): string =>
  [...text].map((c, i) => (/[a-zA-Z]/.test(c) && (bits >> i % 30) & 1 ? (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()) : c)).join('');
const asciiLower = (text: string): string => text.replace(/[A-Z]/g, (c) => c.toLowerCase());
// eslint-disable-next-line no-control-regex -- the edge refuses control characters in q and exclude
const CONTROL = /[\u0000-\u001f\u007f]/;

/** What a search text is taken from: a slice of the witness's message, or a word put into it. */
const searchTextArb = fc.oneof(
  fc.record({ slice: fc.tuple(fc.nat(), fc.integer({ min: 1, max: 5 })), bits: fc.nat() }),
  fc.record({ word: fc.constantFrom(...WORDS, 'ok', 'E', '%', '_', '\\'), bits: fc.nat() }),
);
/** A word the match expression asks for: one of the witness's words (whole, as a prefix, with the next as a phrase), or one put into it. */
const matchTermArb = fc.oneof(
  fc.record({ ownWord: fc.nat(), as: fc.constantFrom('word', 'prefix', 'phrase'), bits: fc.nat() }),
  fc.record({ word: fc.constantFrom('error', 'TIMEOUT', 'cafe', 'Straße', 'istanbul', 'ωμεγα', '日本語', '42', 'payment declined', 'id'), bits: fc.nat() }),
);

/** A field term: one of the witness's own fields (by its place among them), or a name and value given to it. */
const fieldTermArb = fc.oneof(fc.record({ own: fc.nat() }), fc.record({ name: fc.constantFrom(...FIELD_NAMES), value: fc.constantFrom(...FIELD_VALUES) }));
type FieldTerm = typeof fieldTermArb extends fc.Arbitrary<infer T> ? T : never;
const excludeFieldArb = fc.record({ name: fc.constantFrom(...FIELD_NAMES), value: fc.constantFrom(...FIELD_VALUES) });

/** Copies of the witness whose field `name` is another value, is gone from its sent fields, or is `value` (for an exclude_field). */
function fieldNeighbours(witness: LineSpec, fields: FieldCondition[], excluded: FieldCondition[]): LineSpec[] {
  const withField = (name: string, value: FieldValue | undefined): LineSpec => {
    const sent: Fields = { ...witness.fields };
    if (value === undefined) delete sent[name];
    else sent[name] = value;
    return { ...witness, fields: Object.keys(sent).length > 0 ? sent : null };
  };
  return [
    ...fields.flatMap(({ name, value }) => [withField(name, `${value}0`), withField(name, undefined), withField(name, value === '500' ? 500 : value)]),
    ...excluded.map(({ name, value }) => withField(name, value)),
  ];
}

/**
 * Copies of the witness that differ from it by one thing each: at the edges of the time range, at each
 * other level, in another namespace or pod, with its message in other cases or decomposed. A filter must
 * tell exactly these apart, wherever a term is on its edge.
 */
function neighbours(witness: LineSpec, fromMs: number | undefined, toMs: number | undefined): LineSpec[] {
  const edges = [fromMs, fromMs && fromMs - 1, toMs, toMs && toMs - 1].filter((ts) => ts !== undefined);
  return [
    ...edges.map((ts) => ({ ...witness, ts })),
    ...LEVELS.filter((level) => level !== witness.level).map((level) => ({ ...witness, level })),
    ...[...SCOPE, 'gamma', null].filter((namespace) => namespace !== witness.namespace).map((namespace) => ({ ...witness, namespace })),
    { ...witness, pod: `${witness.pod}0` },
    { ...witness, pod: flipAsciiCase(witness.pod, 1) },
    ...[witness.message.toUpperCase(), witness.message.toLowerCase(), flipAsciiCase(witness.message, 0b0101010101), witness.message.normalize('NFD')].map((message) => ({ ...witness, message })),
  ].filter((line) => line.ts > clock.now() - RETENTION_MS && line.ts <= clock.now());
}

/**
 * The filters of one request, with a line (the witness) that passes them all: the tail's sight of the
 * witness, stored after the lines under test, says the tail has tested those.
 */
export const caseArb = fc.boolean().chain((scoped) =>
  fc.record({
    scoped: fc.constant(scoped),
    witness: lineArb(scoped ? SCOPE : ['alpha', 'beta', 'gamma', null]),
    lines: fc.array(lineArb(['alpha', 'beta', 'gamma', null]), { maxLength: 15 }),
    q: fewOf(searchTextArb),
    exclude: fewOf(
      fc
        .tuple(fc.oneof(fc.constantFrom(...WORDS, 'e', 'É', '%', '_', '\\', ' '), fc.string({ unit: fc.constantFrom(...CHARACTERS), minLength: 1, maxLength: 2 })), fc.nat())
        .map(([text, bits]) => flipAsciiCase(text, bits)),
    ),
    match: seldom(fc.array(matchTermArb, { minLength: 1, maxLength: 2 }), 2),
    regex: seldom(fc.constantFrom(...REGEXES), 2),
    field: fc.oneof({ arbitrary: fc.constant<FieldTerm[]>([]), weight: 3 }, { arbitrary: fc.array(fieldTermArb, { minLength: 1, maxLength: 2 }), weight: 3 }),
    exclude_field: fewOf(excludeFieldArb),
    levels: fc.oneof(
      { arbitrary: fc.constant(undefined), weight: 2 },
      fc.record({ level: fc.subarray([...LEVELS], { minLength: 1 }) }),
      fc.record({ level: fc.subarray(levelsAtOrAbove('warn'), { minLength: 1 }) }),
      fc.record({ min_level: fc.constantFrom(...LEVELS) }),
    ),
    witnessLevel: fc.nat(),
    pod: seldom(patternArb, 2),
    container: seldom(patternArb),
    namespace: seldom(patternArb, 2),
    from: seldom(fc.tuple(fc.integer({ min: 0, max: (12 * HOUR) / MINUTE }), offMinuteArb).map(([minutes, off]) => Math.max(0, minutes * MINUTE + off))),
    to: seldom(fc.tuple(fc.integer({ min: 0, max: (12 * HOUR) / MINUTE }), offMinuteArb).map(([minutes, off]) => Math.max(1, minutes * MINUTE + off))),
    limit: fc.constantFrom('2', '7', '5000'),
  }),
);

type PatternChoice = typeof patternArb extends fc.Arbitrary<infer T> ? T : never;
type Drawn = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

interface Case {
  scoped: boolean;
  witness: LineSpec;
  lines: LineSpec[];
  params: URLSearchParams;
  filter: LineFilter;
}

export function buildCase(drawn: Drawn): Case {
  const base = drawn.witness.message;
  const baseWords = tokens(base);
  const inserted: string[] = [];
  const q = drawn.q.flatMap((text) => {
    if ('word' in text) {
      inserted.push(text.word);
      return [flipAsciiCase(text.word, text.bits)];
    }
    const [at, length] = text.slice;
    const start = at % base.length;
    const slice = base.slice(start, start + length);
    return CONTROL.test(slice) ? [] : [flipAsciiCase(slice, text.bits)];
  });
  const match = drawn.match?.map((term) => {
    if ('word' in term) {
      inserted.push(term.word);
      return flipAsciiCase(term.word.includes(' ') ? `"${term.word}"` : term.word, term.bits);
    }
    if (baseWords.length === 0) {
      inserted.push('fallback');
      return 'fallback';
    }
    const i = term.ownWord % baseWords.length;
    const word = baseWords[i];
    const written =
      term.as === 'prefix' ? `${[...word].slice(0, Math.ceil([...word].length / 2)).join('')}*` : term.as === 'phrase' && i + 1 < baseWords.length ? `"${word} ${baseWords[i + 1]}"` : word;
    return flipAsciiCase(written, term.bits);
  });
  const message = [drawn.regex?.sample, ...inserted, base].filter((part) => part !== undefined).join(' ');
  const levels: Level[] | null = drawn.levels === undefined ? null : 'level' in drawn.levels ? drawn.levels.level : levelsAtOrAbove(drawn.levels.min_level);
  const witness: LineSpec = { ...drawn.witness, message, level: levels ? levels[drawn.witnessLevel % levels.length] : drawn.witness.level };
  const exclude = [...new Set(drawn.exclude)].filter((text) => !asciiLower(message).includes(asciiLower(text)));

  // Field terms given a name and value are put in the witness's sent fields (the first for a name), which win;
  // its own are then taken from what it has.
  const given = drawn.field.flatMap((term) => ('name' in term ? [{ name: term.name, value: fieldText(term.value) }] : []));
  const sentFields: Fields = { ...drawn.witness.fields };
  const fields: FieldCondition[] = [];
  for (const { name, value } of given) {
    if (fields.some((field) => field.name === name)) continue;
    sentFields[name] = value;
    fields.push({ name, value });
  }
  witness.fields = Object.keys(sentFields).length > 0 ? sentFields : null;
  const own = Object.entries(searchableFields(witness) ?? {});
  for (const term of drawn.field) {
    if (!('own' in term) || own.length === 0) continue;
    const [name, value] = own[term.own % own.length];
    fields.push({ name, value: fieldText(value) });
  }
  const witnessFields = searchableFields(witness);
  const excludeFields = drawn.exclude_field.map(({ name, value }) => ({ name, value: fieldText(value) })).filter((condition) => !fieldEquals(witnessFields, condition));

  const pod = labelPattern(witness.pod, drawn.pod);
  const container = labelPattern(witness.container, drawn.container);
  const namespace = labelPattern(witness.namespace, drawn.namespace);
  const fromMs = drawn.from === undefined ? undefined : witness.ts - drawn.from;
  const toMs = drawn.to === undefined ? undefined : witness.ts + drawn.to;

  const params = new URLSearchParams();
  if (namespace) params.set('namespace', namespace);
  if (pod) params.set('pod', pod);
  if (container) params.set('container', container);
  if (drawn.levels && 'level' in drawn.levels) params.set('level', drawn.levels.level.join(','));
  if (drawn.levels && 'min_level' in drawn.levels) params.set('min_level', drawn.levels.min_level);
  if (fromMs !== undefined) params.set('from', new Date(fromMs).toISOString());
  if (toMs !== undefined) params.set('to', new Date(toMs).toISOString());
  for (const text of q) params.append('q', text);
  for (const text of exclude) params.append('exclude', text);
  if (match) params.set('match', match.join(' '));
  if (drawn.regex) params.set('regex', drawn.regex.source);
  for (const { name, value } of fields) params.append('field', `${name}:${value}`);
  for (const { name, value } of excludeFields) params.append('exclude_field', `${name}:${value}`);

  const expression = match && parseMatchExpression(match.join(' '));
  if (typeof expression === 'string') assert.fail(`match=${match!.join(' ')}: ${expression}`);
  const filter: LineFilter = {
    fromMs: Math.max(fromMs ?? 0, clock.now() - RETENTION_MS),
    toMs: toMs ?? Number.MAX_SAFE_INTEGER,
    labels: { namespace: namespace?.split(','), pod: pod?.split(','), container: container?.split(',') },
    levels,
    contains: q,
    excludes: exclude,
    ...(expression && { match: expression }),
    ...(drawn.regex && { regex: drawn.regex.source }),
    ...(fields.length > 0 && { fields }),
    ...(excludeFields.length > 0 && { excludeFields }),
    ...(drawn.scoped && { namespaces: SCOPE }),
  };
  const lines = [...drawn.lines, ...neighbours(witness, fromMs, toMs), ...fieldNeighbours(witness, fields, excludeFields)];
  return { scoped: drawn.scoped, witness, lines, params, filter };
}
