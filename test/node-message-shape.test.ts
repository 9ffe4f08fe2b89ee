import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { MESSAGE_FORMATS, inMessageFormat, messageHeader } from '@daylog/log-model';
import { messageShape } from '@daylog/shipper';

const fixture = (name: string) => readFileSync(join(__dirname, '../../test/fixtures/nginx', name), 'utf8').split('\n').filter(Boolean);

describe('a container line\'s level, from its message', () => {
  const cases: [string, ReturnType<typeof messageShape>][] = [
    ['{"level":"warn","msg":"disk 91% full"}', { level: 'warn' }],
    ['{"severity":"ERROR","message":"payment declined"}', { level: 'error' }],
    ['  {"lvl":"debug"}', { level: 'debug' }],
    ['{"level":"loud","msg":"not a level"}', { level: 'info' }],
    ['{"msg":"no level at all"}', { level: 'info' }],
    ['{not json, ERROR inside', { level: 'info' }],
    ['10.244.1.1 - - [01/May/2024:12:00:10 +0000] "GET / HTTP/1.1" 500 615 "-" "curl/8.5.0" "-"', { format: 'nginx-access' }],
    ['2024/05/01 12:00:12 [notice] 1#1: signal 17 (SIGCHLD) received from 30', { format: 'nginx-error' }],
    ['E1204 10:00:00.000000   12 controller.go:42] sync failed', { level: 'error' }],
    ['W1204 10:00:00.123456 1 reflector.go:1] watch closed', { level: 'warn' }],
    ['I0101 00:00:00.000001 1 main.go:9] started', { level: 'info' }],
    ['F1231 23:59:59.999999 1 main.go:9] cannot continue', { level: 'fatal' }],
    ['E1304 10:00:00.000000 1 x.go:1] no thirteenth month', { level: 'info' }],
    ['Error1204 10:00:00.000000 not klog', { level: 'info' }],
    ['time=2024-05-01T12:00:00Z level=WARN msg="slow query"', { level: 'warn' }],
    ['time="2024-05-01T12:00:00Z" level=error msg=boom', { level: 'error' }],
    ['ts=1 severity="warning" msg=x', { level: 'warn' }],
    ['user set level=error in the form', { level: 'info' }],
    ['GET /search?level=error 200', { level: 'info' }],
    ['ERROR connection refused', { level: 'error' }],
    ['[warn] retrying', { level: 'warn' }],
    ['WARNING: deprecated flag', { level: 'warn' }],
    ['hello world', { level: 'info' }],
  ];
  for (const [text, shape] of cases) {
    it(`${text} → ${JSON.stringify(shape)}`, () => assert.deepEqual(messageShape(text), shape));
  }

  it('names every real nginx access and error line by its format, for the aggregator to read as the sidecar\'s', () => {
    for (const line of fixture('access.log')) assert.deepEqual(messageShape(line), { format: 'nginx-access' }, line);
    for (const line of fixture('error.log')) assert.deepEqual(messageShape(line), { format: 'nginx-error' }, line);
  });

  it('names a line nginx\'s only when the aggregator reads it so: inMessageFormat says what messageHeader finds', () => {
    const lines = [...fixture('access.log'), ...fixture('error.log')];
    const edits = ['Foo', 'Jan', 'Dec', 'jan', '32', '2026/02/30', '[loud]', '-', '"', ' ', ''];
    fc.assert(
      fc.property(fc.constantFrom(...lines), fc.nat(), fc.constantFrom(...edits), fc.nat({ max: 3 }), (line, at, put, cut) => {
        const i = at % (line.length + 1);
        const text = line.slice(0, i) + put + line.slice(i + cut);
        for (const format of MESSAGE_FORMATS) assert.equal(inMessageFormat(format, text), messageHeader(format, text) !== undefined, `${format}: ${text}`);
      }),
      { numRuns: 3000 },
    );
    assert.equal(inMessageFormat('nginx-access', '10.244.1.1 - - [01/Foo/2024:12:00:10 +0000] "GET / HTTP/1.1" 500 615 "-" "curl/8.5.0"'), false);
  });
});
