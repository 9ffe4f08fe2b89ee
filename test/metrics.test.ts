import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import parsePrometheusTextFormat, { PrometheusFamily, PrometheusSample } from 'parse-prometheus-text-format';
import { REJECTION_CAUSES } from '@daylog/log-model';
import { RetentionService } from '../apps/aggregator/src/retention/retention.service';
import { debianTool } from './support/debian-tool';
import { HOUR, TestApp, startTestApp } from './support/test-app';

async function scrapeText(t: TestApp): Promise<string> {
  const response = await t.http.get('/metrics');
  assert.equal(response.status, 200);
  assert.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  return response.text;
}

/**
 * The exposition parsed by parse-prometheus-text-format, families by name. That parser folds a labelled
 * histogram into one sample and drops its labels, so histograms are read as their untyped series
 * (`_bucket`, `_sum`, `_count`), each label set kept; the TYPE lines are checked on the text.
 */
async function scrape(t: TestApp): Promise<Map<string, PrometheusFamily>> {
  const text = (await scrapeText(t)).replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped');
  const families = new Map<string, PrometheusFamily>();
  for (const family of parsePrometheusTextFormat(text)) {
    const seen = families.get(family.name);
    if (seen) seen.metrics.push(...family.metrics);
    else families.set(family.name, family);
  }
  return families;
}

function sample(families: Map<string, PrometheusFamily>, name: string, labels: Record<string, string> = {}): PrometheusSample {
  const family = families.get(name);
  assert.ok(family, `${name} is exposed`);
  const found = family.metrics.find((metric) =>
    Object.entries(labels).every(([label, value]) => metric.labels?.[label] === value),
  );
  assert.ok(found, `${name} has a sample with ${JSON.stringify(labels)}`);
  return found;
}

const value = (families: Map<string, PrometheusFamily>, name: string, labels?: Record<string, string>): number =>
  Number(sample(families, name, labels).value);

describe('GET /metrics', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t.close());

  it('starts with every counter at zero, each rejection cause listed', async () => {
    const families = await scrape(t);
    assert.equal(families.get('daylog_lines_accepted_total')?.type, 'COUNTER');
    assert.equal(families.get('daylog_partitions')?.type, 'GAUGE');
    assert.equal(value(families, 'daylog_lines_accepted_total'), 0);
    for (const reason of REJECTION_CAUSES) assert.equal(value(families, 'daylog_lines_rejected_total', { reason }), 0, reason);
    assert.equal(value(families, 'daylog_partitions'), 0);
    assert.equal(value(families, 'daylog_pruned_lines_total'), 0);
    assert.ok(families.has('process_resident_memory_bytes'), 'the process figures are there too');
  });

  it('counts what an ingest accepted and, by cause, what it rejected', async () => {
    const now = t.clock.now();
    const body = [
      JSON.stringify({ message: 'GET / 200' }),
      JSON.stringify({ message: 'GET /cart 200', ts: now - HOUR }),
      '{"message": "cut off',
      JSON.stringify({ message: 'hello', level: 'loud' }),
      JSON.stringify({ message: 'from last week', ts: now - 7 * 24 * HOUR }),
      JSON.stringify({ message: 'from next week', ts: now + 7 * 24 * HOUR }),
      JSON.stringify({ message: 'no pod', pod: '' }),
      JSON.stringify({ message: 'GET /pay 500', level: 'error' }),
    ].join('\n');
    const response = await t.http.post('/api/v1/logs?pod=web-1').set('Content-Type', 'application/x-ndjson').send(body);
    assert.equal(response.status, 200);
    assert.equal(response.body.accepted, 3);

    const families = await scrape(t);
    assert.equal(value(families, 'daylog_lines_accepted_total'), 3);
    const rejected = Object.fromEntries(REJECTION_CAUSES.map((reason) => [reason, value(families, 'daylog_lines_rejected_total', { reason })]));
    assert.deepEqual(rejected, {
      invalid_json: 1,
      invalid_line: 0,
      too_long: 0,
      invalid_timestamp: 0,
      too_old: 1,
      too_new: 1,
      invalid_level: 1,
      invalid_label: 1,
      forbidden_namespace: 0,
      too_many_label_sets: 0,
    });
    assert.equal(value(families, 'daylog_partitions'), 2, 'this hour and the last');
    assert.ok(value(families, 'daylog_storage_bytes') > 0);
  });

  it('counts the lines of a batch refused whole, and a batch sent again as a duplicate, not as lines', async () => {
    const before = await scrape(t);
    const refused = await t.http.post('/api/v1/logs').send([{ message: 'no pod at all' }, { nonsense: true }]);
    assert.equal(refused.status, 400);
    const batch = { labels: { pod: 'web-2' }, lines: [{ message: 'once' }, { message: 'twice' }] };
    for (let attempt = 0; attempt < 2; attempt++) {
      assert.equal((await t.http.post('/api/v1/logs').set('Idempotency-Key', 'batch-7').send(batch)).status, 200);
    }
    const families = await scrape(t);
    const moved = (name: string, labels?: Record<string, string>) => value(families, name, labels) - value(before, name, labels);
    assert.equal(moved('daylog_lines_rejected_total', { reason: 'invalid_label' }), 1);
    assert.equal(moved('daylog_lines_rejected_total', { reason: 'invalid_line' }), 1);
    assert.equal(moved('daylog_lines_accepted_total'), 2);
    assert.equal(moved('daylog_duplicate_batches_total'), 1);
  });

  it('times requests by method, route pattern and status; paths that match no route share one label', async () => {
    assert.equal((await t.http.get('/api/v1/logs').query({ pod: 'web-1' })).status, 200);
    assert.equal((await t.http.get('/api/v1/logs').query({ limit: 'many' })).status, 400);
    assert.equal((await t.http.get('/wp-admin/setup.php')).status, 404);

    const text = await scrapeText(t);
    assert.match(text, /^# TYPE daylog_http_request_duration_seconds histogram$/m);
    const families = await scrape(t);
    const count = (method: string, route: string, status: string) =>
      value(families, 'daylog_http_request_duration_seconds_count', { method, route, status });
    assert.equal(count('GET', '/api/v1/logs', '200'), 1);
    assert.equal(count('GET', '/api/v1/logs', '400'), 1);
    assert.equal(count('POST', '/api/v1/logs', '200'), 3);
    assert.equal(count('POST', '/api/v1/logs', '400'), 1);
    assert.equal(count('GET', 'unmatched', '404'), 1);
    const everything = { method: 'POST', route: '/api/v1/logs', status: '200', le: '+Inf' };
    assert.equal(value(families, 'daylog_http_request_duration_seconds_bucket', everything), 3);
    assert.ok(value(families, 'daylog_http_request_duration_seconds_sum', { method: 'POST', route: '/api/v1/logs', status: '200' }) > 0);
    const routes = new Set(families.get('daylog_http_request_duration_seconds_count')!.metrics.map((m) => m.labels?.route));
    assert.ok(!routes.has('/wp-admin/setup.php'));
  });

  it("passes Prometheus's own parser and linter, promtool check metrics", async () => {
    const lint = spawnSync(debianTool('promtool', 'prometheus'), ['check', 'metrics'], { input: await scrapeText(t), encoding: 'utf8' });
    const problems = `${lint.stdout}${lint.stderr}`.split('\n').filter((line) => line.trim() !== '');
    // prom-client names three of its Node.js gauges *_total, which the linter flags; those names are not ours to change.
    const ours = problems.filter((line) => !/^nodejs_active_(handles|requests|resources)_total /.test(line));
    assert.deepEqual(ours, []);
  });

  it('says when the pruner last ran and how many lines and partitions it dropped', async () => {
    const before = await scrape(t);
    const stored = value(before, 'daylog_lines_accepted_total');
    t.clock.advance(26 * HOUR);
    const result = await t.app.get(RetentionService).prune();
    assert.equal(result.droppedLines, stored);

    const families = await scrape(t);
    assert.equal(value(families, 'daylog_pruned_lines_total'), stored);
    assert.equal(value(families, 'daylog_pruned_partitions_total'), 2);
    assert.equal(value(families, 'daylog_prune_last_run_timestamp_seconds'), t.clock.now() / 1000);
    assert.equal(value(families, 'daylog_partitions'), 0);
  });
});
