import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ManualClock, TestApp, startTestApp } from './support/test-app';

const README = readFileSync(join(__dirname, '../../README.md'), 'utf8');

/** The README's shell blocks that talk to the service: each must run as written and succeed. */
const curlBlocks = [...README.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]).filter((block) => block.includes('curl'));

describe('README curl examples', () => {
  let t: TestApp;
  let baseUrl: string;
  let workDir: string;

  before(async () => {
    t = await startTestApp({ clock: new ManualClock(Date.now()) });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    baseUrl = await t.app.getUrl();
    workDir = mkdtempSync(join(tmpdir(), 'daylog-readme-'));
  });
  after(async () => {
    await t.close();
    rmSync(workDir, { recursive: true, force: true });
  });

  it('has examples for ingest and every kind of query', () => {
    assert.ok(curlBlocks.length >= 12, `only ${curlBlocks.length} curl blocks`);
  });

  for (const [i, block] of curlBlocks.entries()) {
    it(`runs example ${i + 1}: ${block.split('\n')[0].slice(0, 70)}`, async () => {
      // curl fails on any 4xx/5xx; the examples are otherwise run exactly as a reader would paste them.
      // A tail never ends by itself: it is read for two seconds, curl's time-out (exit 28) its normal end here.
      const curl = block.includes('/api/v1/tail')
        ? 'curl() { command curl --fail-with-body --max-time 2 "$@" || [ $? -eq 28 ]; }'
        : 'curl() { command curl --fail-with-body "$@"; }';
      const script = `set -euo pipefail\n${curl}\n${block.replaceAll('http://localhost:8080', baseUrl)}`;
      const { stdout } = await promisify(execFile)('bash', ['-c', script], { cwd: workDir });
      assert.ok(stdout.trim().length > 0, 'the example printed nothing');
      assert.doesNotMatch(stdout, /"error":/, "an error body");
    });
  }
});
