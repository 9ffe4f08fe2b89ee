import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseJsonLine, parseNginxAccess, parseNginxError, parsePlain, parserFor } from '@daylog/shipper';
import { DEFAULT_RETRY, backoffDelayMs, retryAfterMs } from '@daylog/shipper';
import { lineFields, messageHeader } from '@daylog/log-model';

const fixture = (name: string) => readFileSync(join(__dirname, '../../test/fixtures/nginx', name), 'utf8').split('\n').filter(Boolean);

describe('line parsers', () => {
  it('reads real nginx combined access lines: fields, time, and a level from the status', () => {
    const lines = fixture('access.log');
    assert.deepEqual(lines.map((l) => [messageHeader('nginx-access', l)?.level, lineFields('nginx-access', l, null)?.status]), [
      ['info', 200], ['info', 200], ['warn', 404], ['error', 500], ['error', 502], ['warn', 400],
    ]);
    assert.equal(messageHeader('nginx-access', lines[0])?.ts, Date.UTC(2026, 10, 24, 22, 40, 17));
    assert.deepEqual(lineFields('nginx-access', lines[1], null), {
      remote_addr: '127.0.0.1', status: 200, method: 'GET', path: '/?q=shoes&page=2', protocol: 'HTTP/1.1', bytes: 3,
      referer: 'https://shop.example/cart', user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0',
    });
    assert.deepEqual(lineFields('nginx-access', lines[5], null), { remote_addr: '127.0.0.1', status: 400, bytes: 157 });
  });

  it('reads $request_time after the combined fields, and a time zone offset', () => {
    const line = '10.1.2.3 - bob [24/Nov/2026:11:00:00 +0100] "GET /x HTTP/2.0" 200 12 "-" "k6" 0.042';
    assert.equal(messageHeader('nginx-access', line)?.ts, Date.UTC(2026, 10, 24, 10, 0, 0));
    assert.equal(lineFields('nginx-access', line, null)?.request_time, 0.042);
    assert.equal(lineFields('nginx-access', line, null)?.remote_user, 'bob');
  });

  it('lets fields sent with a line override those read from its message, and derives none from a line not in its format', () => {
    const line = '10.1.2.3 - - [24/Nov/2026:11:00:00 +0000] "GET /x HTTP/1.1" 200 12 "-" "k6"';
    assert.deepEqual(lineFields('nginx-access', line, { status: 'teapot', trace: 'abc' }), {
      remote_addr: '10.1.2.3', status: 'teapot', method: 'GET', path: '/x', protocol: 'HTTP/1.1', bytes: 12, user_agent: 'k6', trace: 'abc',
    });
    assert.equal(messageHeader('nginx-access', 'ERROR: not an access line'), undefined);
    assert.equal(lineFields('nginx-access', 'ERROR: not an access line', null), null);
    assert.deepEqual(lineFields(null, line, { a: 1 }), { a: 1 });
  });

  it('leaves access lines for the aggregator to read, named by their format', () => {
    assert.deepEqual(parseNginxAccess('ERROR: not an access line'), { message: 'ERROR: not an access line', format: 'nginx-access' });
  });

  it('reads real nginx error lines: time, level from the severity, and the request fields', () => {
    const lines = fixture('error.log');
    assert.deepEqual([...new Set(lines.map((l) => messageHeader('nginx-error', l)?.level))].sort(), ['error', 'info']);
    const refused = lines.find((l) => l.includes('Connection refused'))!;
    assert.deepEqual(messageHeader('nginx-error', refused), { ts: Date.UTC(2026, 10, 24, 22, 40, 17), level: 'error' });
    assert.deepEqual(lineFields('nginx-error', refused, null), {
      pid: 19604, tid: 19604, connection: 5, client: '127.0.0.1', request: 'POST /api/orders HTTP/1.1',
      upstream: 'http://127.0.0.1:1/api/orders', host: '127.0.0.1:18180',
    });
    assert.deepEqual(lineFields('nginx-error', lines[0], null), { pid: 19602, tid: 19602 });
  });

  it('maps every nginx error level', () => {
    const levels = ['debug', 'info', 'notice', 'warn', 'error', 'crit', 'alert', 'emerg'].map(
      (level) => messageHeader('nginx-error', `2026/11/24 10:00:00 [${level}] 1#1: x`)?.level,
    );
    assert.deepEqual(levels, ['debug', 'info', 'info', 'warn', 'error', 'fatal', 'fatal', 'fatal']);
  });

  it('reads no nginx error header from a line that only looks like one', () => {
    for (const line of [
      '2026/11/24 10:00:00 [loud] 1#1: x',
      '2026/02/30 10:00:00 [error] 1#1: x',
      '2026/11/24 24:00:00 [error] 1#1: x',
      '2026/11/24 10:00:00 [error] x',
      'nginx: [emerg] unexpected end of file',
    ]) {
      assert.equal(messageHeader('nginx-error', line), undefined, line);
      assert.equal(lineFields('nginx-error', line, null), null, line);
    }
  });

  it('reads the request fields from the end, in the order nginx writes them', () => {
    const fieldsOf = (tail: string) => lineFields('nginx-error', `2026/11/24 10:00:00 [error] 7#8: *9 failed${tail}`, null);
    assert.deepEqual(fieldsOf(', client: 10.0.0.1, server: 0.0.0.0:443, upstream: "10.0.0.2:80", bytes from/to client:0/0, bytes from/to upstream:0/0'), {
      pid: 7, tid: 8, connection: 9, client: '10.0.0.1', server: '0.0.0.0:443', upstream: '10.0.0.2:80',
    });
    assert.deepEqual(fieldsOf(', client: 10.0.0.1, server: , request: "GET /?a=\\"b\\" HTTP/1.1", referrer: "https://x/"'), {
      pid: 7, tid: 8, connection: 9, client: '10.0.0.1', request: 'GET /?a=\\"b\\" HTTP/1.1', referrer: 'https://x/',
    });
    assert.deepEqual(fieldsOf(' while reading, host: not nginx\'s'), { pid: 7, tid: 8, connection: 9 });
  });

  it('leaves nginx error lines for the aggregator to read, named by their format', () => {
    assert.deepEqual(parseNginxError('2026/11/24 10:00:00 [error] 1#1: x'), { message: '2026/11/24 10:00:00 [error] 1#1: x', format: 'nginx-error' });
  });

  it('reads JSON lines by the common names for level, message and time, and passes the time on as the line wrote it', () => {
    assert.deepEqual(parseJsonLine('{"severity":"WARNING","msg":"slow","time":"2026-11-24T10:00:00Z","ms":812,"nested":{"a":1}}'), {
      level: 'warn', message: 'slow', ts: '2026-11-24T10:00:00Z', fields: { ms: 812 },
    });
    assert.deepEqual(parseJsonLine('{"level":"info","message":"x","ts":1795554000}'), { level: 'info', message: 'x', ts: 1795554000 });
    assert.deepEqual(parseJsonLine('{"level":"info","message":"x","ts":1795554000.123456,"time":"soon"}'), {
      level: 'info', message: 'x', ts: 1795554000.123456, fields: { time: 'soon' },
    });
    assert.deepEqual(parseJsonLine('{"message":"x","time":"2026-11-24 10:00:00"}'), { level: 'info', message: 'x', fields: { time: '2026-11-24 10:00:00' } });
    assert.deepEqual(parseJsonLine('[1,2]'), { level: 'info', message: '[1,2]' });
  });

  it('takes a leading level word from plain lines', () => {
    assert.equal(parsePlain('ERROR something broke').level, 'error');
    assert.equal(parsePlain('[warn] careful').level, 'warn');
    assert.equal(parsePlain('WARNING: disk').level, 'warn');
    assert.equal(parsePlain('information is not a level').level, 'info');
    assert.equal(parsePlain('errors happen').level, 'info');
  });

  it('picks a parser by file name, then by the first line', () => {
    assert.equal(parserFor('auto', 'access.log', 'x'), parseNginxAccess);
    assert.equal(parserFor('auto', 'error.log', 'x'), parseNginxError);
    assert.equal(parserFor('auto', 'app.log', '{"msg":"x"}'), parseJsonLine);
    assert.equal(parserFor('auto', 'app.log', 'hello'), parsePlain);
    assert.equal(parserFor('plain', 'access.log', 'x'), parsePlain);
  });
});

describe('delivery timing', () => {
  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.UTC(2026, 10, 24, 10, 0, 0);
    assert.equal(retryAfterMs('3', now), 3000);
    assert.equal(retryAfterMs('Tue, 24 Nov 2026 10:00:05 GMT', now), 5000);
    assert.equal(retryAfterMs('Tue, 24 Nov 2026 09:00:00 GMT', now), 0);
    assert.equal(retryAfterMs(null, now), 0);
    assert.equal(retryAfterMs('soon', now), 0);
  });

  it('backs off exponentially with full jitter, capped', () => {
    assert.equal(backoffDelayMs(0, DEFAULT_RETRY, () => 0.999999), DEFAULT_RETRY.baseMs * 0.999999);
    assert.equal(backoffDelayMs(3, DEFAULT_RETRY, () => 0.5), DEFAULT_RETRY.baseMs * 8 * 0.5);
    assert.equal(backoffDelayMs(30, DEFAULT_RETRY, () => 1), DEFAULT_RETRY.capMs);
    assert.equal(backoffDelayMs(5, DEFAULT_RETRY, () => 0), 0);
  });
});
