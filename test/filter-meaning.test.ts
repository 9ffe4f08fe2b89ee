import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { LEVELS, Level, LogLine, levelsAtOrAbove, parseMatchExpression, tokens } from '@daylog/log-model';
import { LineFilter, lineMatcher } from '@daylog/storage';
import { TailClient } from './support/tail-client';
import { untilIndexed } from './support/word-index-state';
import { HOUR, MINUTE, ManualClock, TestApp, WireLineBody, startTestApp } from './support/test-app';

const WRITER = 'ingest-token-0123456789';
const READER = 'read-token-0123456789abc';
const SCOPED_READER = 'scoped-read-token-0123456789';
const SCOPE = ['alpha', 'beta'];
const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

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
];

interface LineSpec {
  ts: number;
  level: Level;
  namespace: string | null;
  pod: string;
  container: string | null;
  source: string | null;
  message: string;
}

const clock = new ManualClock();
const RETENTION_MS = 24 * HOUR;
/** On whole minutes mostly, a millisecond off sometimes: lines share their time, and meet the edges of a range. */
const offMinuteArb = fc.constantFrom(0, 0, 0, 1, -1);
const ageArb = fc.tuple(fc.integer({ min: 1, max: RETENTION_MS / MINUTE - 10 }), offMinuteArb).map(([minutes, off]) => minutes * MINUTE + off);

const lineArb = (namespaces: (string | null)[]): fc.Arbitrary<LineSpec> =>
  fc.record({
    ts: ageArb.map((age) => clock.now() - age),
    level: fc.constantFrom(...LEVELS),
    namespace: fc.constantFrom(...namespaces),
    pod: fc.tuple(fc.constantFrom('web', 'api', 'Web', 'db-main', 'café'), fc.nat(149)).map(([name, n]) => `${name}-${n}`),
    container: fc.constantFrom('nginx', 'app', 'sidecar', null),
    source: fc.constantFrom('stdout', 'stderr', null),
    message: messageArb,
  });

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
const caseArb = fc.boolean().chain((scoped) =>
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

function buildCase(drawn: Drawn): Case {
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
    ...(drawn.scoped && { namespaces: SCOPE }),
  };
  return { scoped: drawn.scoped, witness, lines: [...drawn.lines, ...neighbours(witness, fromMs, toMs)], params, filter };
}

/** A stored line as the JSON answer gives it, back as the line the tail's predicate tests; its `n` names it. */
function storedLine(wire: WireLineBody): LogLine & { n: number } {
  return {
    ts: Date.parse(wire.ts),
    level: wire.level as Level,
    namespace: wire.namespace,
    pod: wire.pod,
    container: wire.container,
    source: wire.source,
    message: wire.message,
    fields: wire.fields ?? null,
    format: wire.format ?? null,
    n: wire.fields!.n as number,
  };
}

/**
 * One app through its HTTP API, lines piling up run after run: each run's filter is asked of the query (every
 * page, forward) and of a live tail opened before its lines are stored, and both must answer what the tail's
 * predicate, lineMatcher, keeps of every stored line.
 */
describe('a filter means the same to a query and to a live tail', () => {
  let t: TestApp;
  let tailUrl: string;
  let sent = 0;

  /** Stores lines, each named by its `n` field. */
  async function ingest(lines: LineSpec[]): Promise<number[]> {
    if (lines.length === 0) return [];
    const numbered = lines.map((line) => ({ ...line, fields: { n: ++sent } }));
    const body = numbered.map((line) => JSON.stringify(line)).join('\n');
    const response = await t.http.post('/api/v1/logs').set(bearer(WRITER)).set('Content-Type', 'application/x-ndjson').send(`${body}\n`);
    assert.equal(response.status, 200, JSON.stringify(response.body));
    assert.deepEqual(response.body.rejected, []);
    return numbered.map((line) => line.fields.n);
  }

  /** Every line a query finds, forward, cursor after cursor. */
  async function queryAll(params: URLSearchParams, token: string): Promise<WireLineBody[]> {
    const lines: WireLineBody[] = [];
    let cursor: string | null = null;
    do {
      const page: URLSearchParams = new URLSearchParams(params);
      page.set('direction', 'forward');
      page.set('format', 'json');
      if (cursor) page.set('cursor', cursor);
      const response = await t.http.get(`/api/v1/logs?${page.toString()}`).set(bearer(token));
      assert.equal(response.status, 200, JSON.stringify(response.body));
      lines.push(...(response.body.lines as WireLineBody[]));
      cursor = response.body.nextCursor as string | null;
    } while (cursor);
    return lines;
  }

  before(async () => {
    t = await startTestApp({ clock, env: { DAYLOG_INGEST_TOKENS: WRITER, DAYLOG_READ_TOKENS: `${READER},${SCOPED_READER}=${SCOPE.join('|')}` } });
    assert.equal(t.config.retentionMs, RETENTION_MS);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    tailUrl = `${await t.app.getUrl()}/api/v1/tail`;
    // More label sets than SQLite lists in a statement: a pattern such as web-* reaches them as one JSON parameter.
    const seeds = fc.sample(lineArb(['alpha', 'beta', 'gamma', null]), { numRuns: 600, seed: 15 });
    await ingest(seeds.map((line, i) => ({ ...line, pod: `${i % 2 ? 'web' : 'api'}-${Math.floor(i / 4)}`, container: i % 4 < 2 ? 'nginx' : 'app' })));
    // Words are then matched through the index in the older hours, by reading lines in the newest and past the index.
    await untilIndexed(t.config.dataDir, (state) => state.slice(0, -1).every((p) => p.indexed === p.lines));
  });
  after(() => t.close());

  it('finds exactly the lines the predicate keeps, in order, and the tail shows exactly the new ones among them', { timeout: 120_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (drawn) => {
        const { scoped, witness, lines, params, filter } = buildCase(drawn);
        const matches = lineMatcher(filter);
        assert.ok(matches({ ...witness, fields: null, format: null }), 'the witness passes the filter it was made for');
        const token = scoped ? SCOPED_READER : READER;

        const tailParams = new URLSearchParams(params);
        tailParams.set('format', 'ndjson');
        tailParams.set('limit', '0');
        const tail = new TailClient(`${tailUrl}?${tailParams.toString()}`, { headers: bearer(token) });
        try {
          assert.equal((await tail.opened()).statusCode, 200);
          const fresh = new Set(await ingest(lines));
          const [witnessN] = await ingest([witness]);
          fresh.add(witnessN);
          const shown = (): { n?: number; notice?: string }[] => tail.lines.map((line) => JSON.parse(line) as { fields?: { n: number }; notice?: string }).map((line) => ({ n: line.fields?.n, notice: line.notice }));
          while (!shown().some((line) => line.n === witnessN)) await tail.waitFor(tail.lines.length + 1, 'the witness line');

          const stored = (await queryAll(new URLSearchParams({ limit: '5000' }), READER)).map(storedLine);
          const kept = stored.filter(matches).map((line) => line.n);
          const found = (await queryAll(params, token)).map((line) => storedLine(line).n);
          assert.deepEqual(found, kept, `the query's lines are the predicate's, in order, for ${params.toString()}`);
          const tailed = shown().map((line) => line.n ?? line.notice);
          const expected = found.filter((n) => fresh.has(n));
          assert.deepEqual(
            [...tailed].sort((a, b) => Number(a) - Number(b)),
            [...expected].sort((a, b) => a - b),
            `the tail shows the new lines the query finds, for ${params.toString()}`,
          );
        } finally {
          tail.request.destroy();
        }
      }),
      { numRuns: 40, includeErrorInReport: true },
    );
  });
});
