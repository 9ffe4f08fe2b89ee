import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseTimestamp } from '@daylog/log-model';
import { ContainerRecord, JoinedLine, PieceJoiner, RecordReader, criTimeMs, detectFormat, keptLineBytes, markTruncated, parseRecord } from '@daylog/shipper';

const PIECE = 16384;
const LIMITS = { maxLineBytes: 65536, timeoutMs: 5000 };

const cri = (time: string, stream: string, tag: string, message: string | Buffer): Buffer =>
  Buffer.concat([Buffer.from(`${time} ${stream} ${tag} `), Buffer.from(message)]);
const docker = (log: string, stream: string, time: string): Buffer => Buffer.from(JSON.stringify({ log, stream, time }).replace(/</g, '\\u003c').replace(/&/g, '\\u0026'));

/** A file's content as the caller sees it: each line without its newline, and where it lies. */
function fileLines(lines: Buffer[], file = 'a', from = 0) {
  let offset = from;
  return lines.map((line) => {
    const span = { file, start: offset, end: offset + line.length + 1 };
    offset = span.end;
    return { line, span };
  });
}

/**
 * Reads one file's lines into a joiner, as the shipper will, through one read buffer overwritten after
 * each line: the lines it ships, in order.
 */
function ship(lines: Buffer[], joiner = new PieceJoiner<string>(LIMITS), file = 'a', nowMs = 0): JoinedLine<string>[] {
  const reader = new RecordReader();
  const readBuffer = Buffer.alloc(Math.max(0, ...lines.map((line) => line.length)));
  const shipped: JoinedLine<string>[] = [];
  for (const { line, span } of fileLines(lines, file)) {
    line.copy(readBuffer);
    const joined = joiner.push(reader.read(readBuffer.subarray(0, line.length)), span, nowMs);
    readBuffer.fill('#');
    if (joined) shipped.push(joined);
  }
  return shipped;
}

const record = (r: ContainerRecord) => ({ ...r, message: r.message.toString('utf8') });

describe('container log records', () => {
  it('reads containerd lines: Z times with trimmed fractions or none, to the millisecond, cut not rounded', () => {
    const cases: [string, number][] = [
      ['2024-05-01T12:00:10.123456789Z', Date.UTC(2024, 4, 1, 12, 0, 10, 123)],
      ['2024-05-01T12:00:10.2Z', Date.UTC(2024, 4, 1, 12, 0, 10, 200)],
      ['2024-05-01T12:00:11Z', Date.UTC(2024, 4, 1, 12, 0, 11)],
      ['2024-05-01T12:00:10.9999999Z', Date.UTC(2024, 4, 1, 12, 0, 10, 999)],
    ];
    for (const [time, ms] of cases) {
      assert.deepEqual(record(parseRecord('cri', cri(time, 'stdout', 'F', 'GET / 200'))), { tsMs: ms, stream: 'stdout', partial: false, message: 'GET / 200' }, time);
    }
  });

  it('reads CRI-O lines: a local offset and nine digits, and P wherever a read ended', () => {
    assert.deepEqual(record(parseRecord('cri', cri('2024-05-01T14:00:10.123956789+02:00', 'stderr', 'P', '{"msg":"partial wri'))), {
      tsMs: Date.UTC(2024, 4, 1, 12, 0, 10, 123), stream: 'stderr', partial: true, message: '{"msg":"partial wri',
    });
  });

  it('keeps every byte after the tag, spaces and bytes that are not UTF-8 alike, and reads only the first tag', () => {
    const bytes = Buffer.from([0x20, 0xc3, 0x20, 0x20]);
    assert.deepEqual(parseRecord('cri', cri('2024-05-01T12:00:10Z', 'stdout', 'F', bytes)).message, bytes);
    assert.equal(parseRecord('cri', cri('2024-05-01T12:00:10Z', 'stdout', 'P:x=1', 'a')).partial, true);
    assert.equal(parseRecord('cri', cri('2024-05-01T12:00:10Z', 'stdout', 'F:x=1', 'a')).partial, false);
    assert.deepEqual(record(parseRecord('cri', cri('2024-05-01T12:00:13.000000001Z', 'stdout', 'F', ''))).message, '');
  });

  it('reads json-file records: Go escapes, a piece without its newline, and the newline taken off a whole line', () => {
    const line = Buffer.from('{"log":"GET /api/items?tag=\\u003cb\\u003e\\u0026x=1 200 \\"ok\\"\\n","stream":"stdout","time":"2024-05-01T12:00:01.5Z"}');
    assert.deepEqual(record(parseRecord('docker', line)), { tsMs: Date.UTC(2024, 4, 1, 12, 0, 1, 500), stream: 'stdout', partial: false, message: 'GET /api/items?tag=<b>&x=1 200 "ok"' });
    const tab = Buffer.from('{"log":"WARN cache\\u0009ratio=0.42\\n","stream":"stderr","time":"2024-05-01T12:00:01.600000042Z"}');
    assert.deepEqual(record(parseRecord('docker', tab)), { tsMs: Date.UTC(2024, 4, 1, 12, 0, 1, 600), stream: 'stderr', partial: false, message: 'WARN cache\tratio=0.42' });
    assert.equal(parseRecord('docker', docker('no newline', 'stdout', '2024-05-01T12:00:03Z')).partial, true);
  });

  it('ships a line in neither format as it is, with no time and source unknown', () => {
    const garbage = [
      'plain text, no runtime wrote this',
      '2024-05-01T12:00:10Z stdin F wrong stream',
      '2024-05-01T12:00:10Z stdout X wrong tag',
      '2024-13-01T12:00:10Z stdout F no such month',
      '1714564810 stdout F epoch digits are not a runtime time',
      '2024-05-01T12:00:10Z stdout',
      '{"log":"no time","stream":"stdout"}',
      '{"log":"x\\n","stream":"console","time":"2024-05-01T12:00:03Z"}',
      '{"log": broken json',
      '',
    ];
    for (const text of garbage) {
      for (const format of ['cri', 'docker', undefined] as const) {
        assert.deepEqual(record(parseRecord(format, Buffer.from(text))), { tsMs: null, stream: 'unknown', partial: false, message: text }, `${format}: ${text}`);
      }
    }
  });

  it('recognises a file by its first line in either format, and reads every later line by that one', () => {
    assert.equal(detectFormat(cri('2024-05-01T12:00:10Z', 'stdout', 'F', 'x')), 'cri');
    assert.equal(detectFormat(docker('x\n', 'stdout', '2024-05-01T12:00:10Z')), 'docker');
    assert.equal(detectFormat(Buffer.from('{"a":1}')), undefined);
    const reader = new RecordReader();
    assert.equal(reader.read(Buffer.from('damaged first line')).stream, 'unknown');
    assert.equal(reader.format, undefined);
    assert.equal(reader.read(cri('2024-05-01T12:00:10Z', 'stderr', 'F', 'x')).stream, 'stderr');
    assert.equal(reader.format, 'cri');
    assert.equal(reader.read(docker('x\n', 'stdout', '2024-05-01T12:00:10Z')).stream, 'unknown');
  });
});

describe('CRI times read from their bytes', () => {
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  /** A time in a runtime's layout: containerd's `Z` with the fraction's trailing zeros trimmed, CRI-O's nine digits and an offset. */
  const runtimeTimeArb = fc
    .record({
      ms: fc.integer({ min: Date.UTC(1970, 0, 2), max: Date.UTC(9999, 11, 30) }),
      fraction: fc.integer({ min: 0, max: 999_999_999 }),
      digits: fc.integer({ min: 0, max: 9 }),
      offsetMinutes: fc.option(fc.integer({ min: -(23 * 60 + 59), max: 23 * 60 + 59 }), { nil: undefined }),
    })
    .map(({ ms, fraction, digits, offsetMinutes }) => {
      const local = new Date(ms + (offsetMinutes ?? 0) * 60_000).toISOString().slice(0, 19);
      const written = digits === 0 ? '' : `.${pad(fraction, 9).slice(0, digits)}`;
      if (offsetMinutes === undefined) return `${local}${written}Z`;
      const abs = Math.abs(offsetMinutes);
      return `${local}${written}${offsetMinutes < 0 ? '-' : '+'}${pad(Math.floor(abs / 60), 2)}:${pad(abs % 60, 2)}`;
    });
  const read = (text: string) => criTimeMs(Buffer.from(text, 'latin1'), Buffer.byteLength(text, 'latin1'));

  it('reads every time a runtime writes, as parseTimestamp does, to the millisecond, cut not rounded', () => {
    fc.assert(
      fc.property(runtimeTimeArb, (text) => {
        const ms = read(text);
        assert.equal(typeof ms, 'number', text);
        assert.equal(ms, parseTimestamp(text), text);
      }),
      { numRuns: 5000 },
    );
    assert.equal(read('2024-02-29T23:59:59.9999Z'), Date.UTC(2024, 1, 29, 23, 59, 59, 999));
    assert.equal(read('2024-05-01T00:30:00.1-01:30'), Date.UTC(2024, 4, 1, 2, 0, 0, 100));
  });

  it('leaves anything else to parseTimestamp: what it reads is what parseTimestamp reads', () => {
    const near = fc.tuple(runtimeTimeArb, fc.nat(), fc.constantFrom('', '0', '9', 'T', 't', 'Z', 'z', ' ', ':', '-', '+', '.', 'x', '\u00e9', '00', '60', '13'), fc.boolean());
    fc.assert(
      fc.property(near, ([time, at, put, replace]) => {
        const i = at % (time.length + 1);
        const text = time.slice(0, i) + put + time.slice(replace ? i + 1 : i);
        const ms = read(text);
        if (ms !== undefined) assert.equal(ms, parseTimestamp(text), text);
        const record = parseRecord('cri', Buffer.from(`${text} stdout F x`, 'latin1'));
        const expected = /^\d{4}-\d{2}-\d{2}T/.test(text) ? (parseTimestamp(text) ?? null) : null;
        assert.equal(record.tsMs, text.includes(' ') ? record.tsMs : expected, text);
      }),
      { numRuns: 5000 },
    );
    for (const text of ['2023-02-29T12:00:00Z', '2024-04-31T12:00:00Z', '2024-05-01T24:00:00Z', '2024-05-01T12:00:60Z', '2024-05-01T12:00:00.Z', '2024-05-01T12:00:00.1234567890Z', '2024-05-01T12:00:00+24:00', '2024-05-01T12:00:00+02:60', '0099-05-01T12:00:00Z']) {
      assert.equal(read(text), undefined, text);
    }
  });
});

describe('joining pieces', () => {
  it('joins 16384-byte P pieces with their F per stream, across another stream\'s line, at the first piece\'s time', () => {
    const long = Array.from({ length: 40098 }, (_, i) => String.fromCharCode(97 + (i % 26))).join('');
    const lines = [
      cri('2024-05-01T12:00:12.500000001Z', 'stdout', 'P', long.slice(0, PIECE)),
      cri('2024-05-01T12:00:12.500000077Z', 'stderr', 'F', '2024/05/01 12:00:12 [notice] 1#1: signal 17 (SIGCHLD) received from 30'),
      cri('2024-05-01T12:00:12.500000102Z', 'stdout', 'P', long.slice(PIECE, 2 * PIECE)),
      cri('2024-05-01T12:00:12.600000203Z', 'stdout', 'F', long.slice(2 * PIECE)),
    ];
    assert.equal(Buffer.byteLength(long.slice(2 * PIECE)), 7330);
    const spans = fileLines(lines).map(({ span }) => span);
    assert.deepEqual(
      ship(lines).map((l) => [l.stream, l.text, l.tsMs, l.start.offset, l.end.offset, l.complete]),
      [
        ['stderr', '2024/05/01 12:00:12 [notice] 1#1: signal 17 (SIGCHLD) received from 30', Date.UTC(2024, 4, 1, 12, 0, 12, 500), spans[1].start, spans[1].end, true],
        ['stdout', long, Date.UTC(2024, 4, 1, 12, 0, 12, 500), spans[0].start, spans[3].end, true],
      ],
    );
  });

  it('decodes a UTF-8 character split between two pieces whole', () => {
    const text = 'prix: 10 €, café';
    const bytes = Buffer.from(text);
    const cut = bytes.indexOf(Buffer.from('€')) + 1;
    const shipped = ship([cri('2024-05-01T12:00:14.25Z', 'stdout', 'P', bytes.subarray(0, cut)), cri('2024-05-01T12:00:14.26Z', 'stdout', 'F', bytes.subarray(cut))]);
    assert.deepEqual(shipped.map((l) => [l.text, l.invalidUtf8]), [[text, false]]);
  });

  it('skips an empty line, drops a final \\r, and still moves past both', () => {
    const joiner = new PieceJoiner<string>(LIMITS);
    const lines = [cri('2024-05-01T12:00:13.000000001Z', 'stdout', 'F', ''), cri('2024-05-01T12:00:13Z', 'stdout', 'F', '\r'), cri('2024-05-01T14:00:11.000000000+02:00', 'stdout', 'F', 'hello from a tty\r')];
    assert.deepEqual(ship(lines, joiner).map((l) => l.text), ['hello from a tty']);
    assert.equal(joiner.oldestOpenStart('a'), undefined);
  });

  it('joins json-file pieces of 16 KiB per stream, escapes read', () => {
    const long = '<'.repeat(PIECE) + '&'.repeat(PIECE) + ' 200';
    const lines = [
      docker(long.slice(0, PIECE), 'stdout', '2024-05-01T12:00:02.100000001Z'),
      docker('WARN interleaved\n', 'stderr', '2024-05-01T12:00:02.2Z'),
      docker(long.slice(PIECE, 2 * PIECE), 'stdout', '2024-05-01T12:00:02.3Z'),
      docker(`${long.slice(2 * PIECE)}\n`, 'stdout', '2024-05-01T12:00:02.4Z'),
      docker('\n', 'stdout', '2024-05-01T12:00:03Z'),
    ];
    assert.ok(lines[0].includes('\\u003c'));
    assert.deepEqual(ship(lines).map((l) => [l.stream, l.text, l.tsMs]), [
      ['stderr', 'WARN interleaved', Date.UTC(2024, 4, 1, 12, 0, 2, 200)],
      ['stdout', long, Date.UTC(2024, 4, 1, 12, 0, 2, 100)],
    ]);
  });

  it('ships a garbage line among pieces whole, without touching the open line', () => {
    const shipped = ship([cri('2024-05-01T12:00:10Z', 'stdout', 'P', 'one '), Buffer.from('not a CRI line\r'), cri('2024-05-01T12:00:11Z', 'stdout', 'F', 'two')]);
    assert.deepEqual(shipped.map((l) => [l.stream, l.text, l.tsMs]), [['unknown', 'not a CRI line', null], ['stdout', 'one two', Date.UTC(2024, 4, 1, 12, 0, 10)]]);
  });

  it('holds no checkpoint past an open line, in the file each of its pieces is in, across a rotation', () => {
    const joiner = new PieceJoiner<string>(LIMITS);
    const rotated = fileLines([cri('2024-05-01T12:00:04Z', 'stdout', 'F', 'before'), cri('2024-05-01T12:00:05Z', 'stdout', 'P', 'begun in the old file, ')], '0.log.20240501-120005');
    const reader = new RecordReader();
    for (const { line, span } of rotated) joiner.push(reader.read(line), span, 0);
    assert.equal(joiner.oldestOpenStart('0.log.20240501-120005'), rotated[1].span.start);
    assert.equal(joiner.oldestOpenStart('0.log'), undefined);
    const current = fileLines([cri('2024-05-01T12:00:06Z', 'stdout', 'P', 'continued '), cri('2024-05-01T12:00:06Z', 'stdout', 'F', 'and ended in the new one')], '0.log');
    const newReader = new RecordReader();
    assert.equal(joiner.push(newReader.read(current[0].line), current[0].span, 0), undefined);
    assert.equal(joiner.oldestOpenStart('0.log.20240501-120005'), rotated[1].span.start);
    assert.equal(joiner.oldestOpenStart('0.log'), 0);
    const line = joiner.push(newReader.read(current[1].line), current[1].span, 0)!;
    assert.equal(line.text, 'begun in the old file, continued and ended in the new one');
    assert.deepEqual([line.start, line.end], [{ file: '0.log.20240501-120005', offset: rotated[1].span.start }, { file: '0.log', offset: current[1].span.end }]);
    assert.deepEqual(line.fileStarts, [line.start, { file: '0.log', offset: 0 }]);
    assert.equal(joiner.oldestOpenStart('0.log.20240501-120005'), undefined);
    assert.equal(joiner.oldestOpenStart('0.log'), undefined);
  });

  it('delivers a last P that no F follows once the time-out has passed since its last piece, marked incomplete', () => {
    const joiner = new PieceJoiner<string>(LIMITS);
    ship([cri('2024-05-01T12:00:20Z', 'stderr', 'P', 'exiting wi')], joiner, 'a', 1000);
    ship([cri('2024-05-01T12:00:21Z', 'stderr', 'P', 'thout newline')], joiner, 'a', 3000);
    assert.deepEqual(joiner.expire(3000 + LIMITS.timeoutMs - 1), []);
    assert.equal(joiner.openLines, 1);
    assert.deepEqual(joiner.expire(3000 + LIMITS.timeoutMs).map((l) => [l.stream, l.text, l.complete, l.tsMs]), [['stderr', 'exiting without newline', false, Date.UTC(2024, 4, 1, 12, 0, 20)]]);
    assert.equal(joiner.openLines, 0);
    assert.equal(joiner.oldestOpenStart('a'), undefined);
  });

  it('flushes every open line, oldest first, when the files are finished for good', () => {
    const joiner = new PieceJoiner<string>(LIMITS);
    ship([cri('2024-05-01T12:00:20Z', 'stderr', 'P', 'err'), cri('2024-05-01T12:00:20Z', 'stdout', 'P', 'out')], joiner);
    assert.deepEqual(joiner.flush().map((l) => l.text), ['err', 'out']);
    assert.deepEqual(joiner.flush(), []);
  });

  it('cuts a line over the cap as the sidecar does, and holds no more than the cap meanwhile', () => {
    const joiner = new PieceJoiner<string>(LIMITS);
    const piece = 'z'.repeat(PIECE);
    let held = 0;
    const reader = new RecordReader();
    fileLines([...Array.from({ length: 100 }, () => cri('2024-05-01T12:00:30Z', 'stdout', 'P', piece)), cri('2024-05-01T12:00:31Z', 'stdout', 'F', 'end')]).forEach(({ line, span }, i, all) => {
      const joined = joiner.push(reader.read(line), span, 0);
      held = Math.max(held, joiner.heldBytes);
      if (i < all.length - 1) return assert.equal(joined, undefined);
      assert.equal(joined!.text, 'z'.repeat(keptLineBytes(LIMITS.maxLineBytes)));
      assert.equal(joined!.truncatedBytes, 100 * PIECE + 3 - keptLineBytes(LIMITS.maxLineBytes));
      const message = markTruncated(joined!.text, joined!.truncatedBytes);
      assert.match(message, /^z+ …\[truncated \d+ bytes\]$/);
      assert.ok(Buffer.byteLength(message) <= LIMITS.maxLineBytes);
    });
    assert.equal(held, keptLineBytes(LIMITS.maxLineBytes));
  });

  it('gives back any lines cut into random pieces, interleaved with another stream\'s, exactly, per stream', () => {
    const lineArb = fc.string({ unit: fc.constantFrom('a', ' ', 'é', '€', '𝄞', '日', '\t', '"', '\r'), maxLength: 40 }).filter((text) => !text.endsWith('\r'));
    const streamArb = fc.array(fc.tuple(lineArb, fc.array(fc.nat(), { maxLength: 4 })), { maxLength: 6 });
    fc.assert(
      fc.property(streamArb, streamArb, fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }), (outLines, errLines, order) => {
        const pieces = (stream: string, lines: [string, number[]][]) =>
          lines.flatMap(([text, cuts]) => {
            const bytes = Buffer.from(text);
            const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
            const bounds = [0, ...points, bytes.length];
            return bounds.slice(1).map((end, i) => cri('2024-05-01T12:00:00Z', stream, end === bytes.length && i === bounds.length - 2 ? 'F' : 'P', bytes.subarray(bounds[i], end)));
          });
        const out = pieces('stdout', outLines);
        const err = pieces('stderr', errLines);
        const file: Buffer[] = [];
        for (let i = 0; out.length + err.length > 0; i++) file.push((order[i % order.length] && out.length > 0) || err.length === 0 ? out.shift()! : err.shift()!);
        const shipped = ship(file);
        const expected = (lines: [string, number[]][]) => lines.map(([text]) => text).filter((text) => text.length > 0);
        assert.deepEqual(shipped.filter((l) => l.stream === 'stdout').map((l) => l.text), expected(outLines));
        assert.deepEqual(shipped.filter((l) => l.stream === 'stderr').map((l) => l.text), expected(errLines));
        assert.ok(shipped.every((l) => !l.invalidUtf8 && l.complete));
      }),
      { numRuns: 300 },
    );
  });
});
