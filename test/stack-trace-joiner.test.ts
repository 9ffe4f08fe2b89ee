import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JoinedLine, RecordStream, StackTraceJoiner, keptLineBytes } from '@daylog/shipper';

const LIMITS = { maxLineBytes: 65536, timeoutMs: 1000 };
const T0 = Date.UTC(2024, 4, 1, 12, 0, 0);

/** Lines as the piece joiner gives them: one per raw line of file `a`, 100 bytes apart, a millisecond apart. */
function lines(texts: string[], stream: RecordStream = 'stderr', from = 0): JoinedLine<string>[] {
  return texts.map((text, i) => {
    const start = { file: 'a', offset: (from + i) * 100 };
    return { text, truncatedBytes: 0, invalidUtf8: false, stream, tsMs: T0 + from + i, start, end: { file: 'a', offset: start.offset + 100 }, fileStarts: [start], complete: true };
  });
}

/** What a joiner makes of lines pushed at once, then after its time-out. */
function join(input: JoinedLine<string>[], joiner = new StackTraceJoiner<string>(LIMITS)): string[] {
  const out: JoinedLine<string>[] = [];
  for (const line of input) {
    const done = joiner.push(line, 0);
    if (done) out.push(done);
  }
  out.push(...joiner.expire(LIMITS.timeoutMs));
  return out.map((line) => line.text);
}

const JAVA = [
  'Exception in thread "main" java.lang.IllegalStateException: boom',
  '\tat com.example.App.run(App.java:42)',
  '\tat com.example.App.main(App.java:10)',
  'Caused by: java.io.IOException: disk',
  '\tat com.example.Disk.write(Disk.java:7)',
  '\t... 2 more',
];
const PYTHON = [
  'Traceback (most recent call last):',
  '  File "/app/main.py", line 3, in <module>',
  '    run()',
  'KeyError: \'id\'',
  '',
  'During handling of the above exception, another exception occurred:',
  'Traceback (most recent call last):',
  '  File "/app/main.py", line 5, in <module>',
  '    raise ValueError("bad id")',
  'ValueError: bad id',
].filter(Boolean);
const GO = [
  'panic: runtime error: index out of range [3] with length 3',
  'goroutine 1 [running]:',
  'main.lookup(...)',
  '\t/app/main.go:12',
  'main.main()',
  '\t/app/main.go:8 +0x1d',
  'created by main.start in goroutine 1',
];
const NODE = ['TypeError: Cannot read properties of undefined (reading \'id\')', '    at handler (/app/server.js:10:15)', '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)'];

describe('joining stack traces', () => {
  for (const [name, trace] of Object.entries({ Java: JAVA, Python: PYTHON, Go: GO, Node: NODE })) {
    it(`joins a ${name} trace into one line, between two lines of its own`, () => {
      assert.deepEqual(join(lines(['before', ...trace, 'after'])), ['before', trace.join('\n'), 'after']);
    });
  }

  it('covers the bytes of all its parts, at its first line\'s time', () => {
    const joiner = new StackTraceJoiner<string>(LIMITS);
    const input = lines(NODE);
    for (const line of input) joiner.push(line, 0);
    assert.equal(joiner.oldestOpenStart('a'), 0);
    const [trace] = joiner.flush();
    assert.deepEqual([trace.start, trace.end, trace.tsMs, trace.fileStarts], [input[0].start, input[2].end, T0, [input[0].start]]);
    assert.equal(joiner.oldestOpenStart('a'), undefined);
  });

  it('joins nothing that only looks like a trace\'s line, nor lines written apart', () => {
    const plain = ['main.main()', 'goroutine 1 [running]:', 'Done', 'at noon we deploy', 'NameError: x', '... and more'];
    assert.deepEqual(join(lines(plain)), plain);
    const apart = [...lines(['ERROR first']), ...lines(['  indented, but a minute later'], 'stderr', 60_000)];
    assert.deepEqual(join(apart), ['ERROR first', '  indented, but a minute later']);
    assert.deepEqual(join(lines(['Traceback (most recent call last):', 'ValueError: no frame came first'])), ['Traceback (most recent call last):', 'ValueError: no frame came first']);
  });

  it('keeps the streams apart', () => {
    const input = [...lines(['java.lang.Error: out'], 'stdout'), ...lines(['\tat X.y(X.java:1)'], 'stderr', 1), ...lines(['\tat X.z(X.java:2)'], 'stdout', 2)];
    assert.deepEqual(join(input).sort(), ['\tat X.y(X.java:1)', 'java.lang.Error: out\n\tat X.z(X.java:2)']);
  });

  it('lets a line go once no continuation came within the time-out, by the injected clock', () => {
    const joiner = new StackTraceJoiner<string>(LIMITS);
    joiner.push(lines(['java.lang.Error: x'])[0], 5000);
    joiner.push(lines(['\tat X.y(X.java:1)'], 'stderr', 1)[0], 5500);
    assert.deepEqual(joiner.expire(5500 + LIMITS.timeoutMs - 1), []);
    assert.deepEqual(joiner.expire(5500 + LIMITS.timeoutMs).map((l) => l.text), ['java.lang.Error: x\n\tat X.y(X.java:1)']);
  });

  it('cuts a trace over the cap, counting what was cut off, parts included', () => {
    const frame = `\tat ${'x'.repeat(999)}`;
    const input = lines(['java.lang.Error: deep', ...Array.from({ length: 100 }, () => frame)]);
    input[50].truncatedBytes = 7;
    const joiner = new StackTraceJoiner<string>(LIMITS);
    for (const line of input) joiner.push(line, 0);
    const [trace] = joiner.flush();
    const whole = Buffer.byteLength(input.map((l) => l.text).join('\n'));
    assert.equal(Buffer.byteLength(trace.text), keptLineBytes(LIMITS.maxLineBytes));
    assert.equal(trace.truncatedBytes, whole - keptLineBytes(LIMITS.maxLineBytes) + 7);
  });
});
