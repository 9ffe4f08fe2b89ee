import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compileUserRegex, requiredSubstrings } from '@daylog/log-model';

describe('the texts every match of a user regex holds (requiredSubstrings)', () => {
  it('are the runs of literal characters of its top-level sequence, of 3 characters or more', () => {
    const cases: [string, string[]][] = [
      ['q=needle-[0-9a-f]{4} ', ['q=needle-']],
      ['took \\d+ms', ['took ']],
      ['GET /api/v\\d', ['GET /api/v']],
      ['abcd*e', ['abc']],
      ['abcd{2}e', ['abc']],
      ['abcd+?e', ['abc']],
      ['err(or)?', ['err']],
      ['^level=(warn|error) user=[^ ]+ took', ['level=', ' user=', ' took']],
      ['ab\\.cd\\/ef', ['ab.cd/ef']],
      ['abc😀+def', ['abc', 'def']],
      ['a{b}c]d', ['a{b}c]d']],
      ['a[]]bcd', [']bcd']],
      ['x\\bfoo\\sbar', ['foo', 'bar']],
    ];
    for (const [source, required] of cases) assert.deepEqual(requiredSubstrings(source), required, source);
  });

  it('are none for what may match without them: an alternation at the top, or an escape read as a character code', () => {
    for (const source of ['abc|def', 'abc(x)|def', '\\x41bcd', '\\u0041bcd', '\\cJabcd', '\\0abcd', 'abc\\qdef', 'ab', '.*', '[abc]+']) {
      assert.deepEqual(requiredSubstrings(source), [], source);
    }
  });

  it('are held by every text the regex matches', () => {
    // Each regex is drawn with a text it matches (when its anchors and quantified pieces allow), put between others.
    type Drawn = [source: string, sample: string];
    const atom = fc.constantFrom<Drawn>(
      ['a', 'a'], ['b', 'b'], ['-', '-'], ['=', '='], ['{', '{'], ['}', '}'], [']', ']'], ['😀', '😀'], ['ab', 'ab'], ['a-b', 'a-b'],
      ['{,2}', '{,2}'], ['\\.', '.'], ['\\-', '-'], ['\\{', '{'], ['.', 'q'], ['[ab]', 'b'], ['[^a]', 'c'], ['\\w', 'w'], ['\\b', ''],
    );
    const times = fc.constantFrom<[string, number[]]>(['*', [0, 1, 2]], ['+', [1, 2]], ['?', [0, 1]], ['{2}', [2]], ['{0,2}', [0, 2]], ['*?', [0, 2]], ['+?', [1]], ['??', [0, 1]]);
    type Shapes = { root: Drawn; node: Drawn; group: Drawn; sequence: Drawn; alternation: Drawn; repeated: Drawn };
    const regex = fc.letrec<Shapes>((tie) => ({
      root: fc.oneof({ arbitrary: tie('sequence'), weight: 4 }, { arbitrary: tie('alternation'), weight: 1 }),
      node: fc.oneof({ depthSize: 'small', withCrossShrink: true }, atom, atom, tie('group'), tie('sequence'), tie('repeated')),
      group: fc.tuple(fc.oneof(tie('node'), tie('alternation')), fc.constantFrom('(', '(?:')).map(([[source, sample], open]): Drawn => [`${open}${source})`, sample]),
      sequence: fc.array(tie('node'), { minLength: 2, maxLength: 6 }).map((parts): Drawn => [parts.map(([source]) => source).join(''), parts.map(([, sample]) => sample).join('')]),
      alternation: fc.tuple(tie('sequence'), tie('sequence'), fc.boolean()).map(([[a, sampleA], [b, sampleB], first]): Drawn => [`${a}|${b}`, first ? sampleA : sampleB]),
      // Bare, a quantifier repeats the last character of a run alone, and the sample may not match: such draws are passed over.
      repeated: fc
        .tuple(tie('node'), times, fc.nat(), fc.boolean())
        .map(([[source, sample], [quantifier, counts], pick, bare]): Drawn => [bare ? `${source}${quantifier}` : `(?:${source})${quantifier}`, sample.repeat(counts[pick % counts.length])]),
    })).root;
    const noise = fc.string({ unit: fc.constantFrom('a', 'b', '-', '=', 'x', ' '), maxLength: 4 });
    let matchedWithRequired = 0;
    fc.assert(
      fc.property(regex, noise, noise, ([source, sample], before, after) => {
        if (typeof compileUserRegex(source) === 'string') return;
        const text = `${before}${sample}${after}`;
        if (!new RegExp(source).test(text)) return;
        const required = requiredSubstrings(source);
        if (required.length > 0) matchedWithRequired++;
        for (const needle of required) assert.ok(text.includes(needle), `/${source}/ matches ${JSON.stringify(text)}, which lacks ${JSON.stringify(needle)}`);
      }),
      { numRuns: 10000 },
    );
    assert.ok(matchedWithRequired > 1000, `only ${matchedWithRequired} matching texts had required runs to check`);
  });
});
