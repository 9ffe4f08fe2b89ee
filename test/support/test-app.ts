import 'reflect-metadata';
import assert from 'node:assert/strict';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { DaylogConfig, loadConfig } from '@daylog/config';
import { Clock } from '../../apps/aggregator/src/clock/clock';
import { createAggregator } from '../../apps/aggregator/src/configure-app';
import { aggregatorLogger } from '../../apps/aggregator/src/logging/aggregator-logger';
import { WireLine } from '../../apps/aggregator/src/query/line-formats';

export const HOUR = 3_600_000;
export const MINUTE = 60_000;

/** A clock the test moves by hand; starts on a round hour so partition edges are easy to reason about. */
export class ManualClock implements Clock {
  constructor(public ms = Date.UTC(2026, 10, 24, 10, 0, 0)) {}

  now(): number {
    return this.ms;
  }

  advance(ms: number): void {
    this.ms += ms;
  }
}

export type TestAgent = ReturnType<typeof request>;

export interface TestApp {
  app: NestFastifyApplication;
  http: TestAgent;
  clock: ManualClock;
  config: DaylogConfig;
  close(): Promise<void>;
}

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'daylog-test-'));
}

/** The production bootstrap (createAggregator → configureApp) on a temp data dir, with real HTTP. */
export async function startTestApp(
  options: { dataDir?: string; clock?: ManualClock | Clock; env?: Record<string, string> } = {},
): Promise<TestApp> {
  const dataDir = options.dataDir ?? tempDataDir();
  const config = loadConfig({ DAYLOG_DATA_DIR: dataDir, DAYLOG_SYNCHRONOUS: 'normal', ...options.env });
  const clock = (options.clock ?? new ManualClock()) as ManualClock;
  const app = await createAggregator(config, clock, aggregatorLogger(config, ['error', 'fatal']));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return {
    app,
    http: request(app.getHttpServer()),
    clock,
    config,
    close: async () => {
      await app.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export type WireLineBody = WireLine;

/** A returned line without its cursor, which a test cannot know in advance. */
export function withoutCursor(line: WireLineBody): Omit<WireLineBody, 'cursor'> {
  assert.equal(typeof line.cursor, 'string');
  const rest: Partial<WireLineBody> = { ...line };
  delete rest.cursor;
  return rest as Omit<WireLineBody, 'cursor'>;
}

export async function ingestLines(
  http: TestAgent,
  lines: object[],
  labels: Record<string, string> = { namespace: 'default', pod: 'web-1', container: 'nginx' },
): Promise<void> {
  const response = await http.post('/api/v1/logs').send({ labels, lines });
  if (response.status !== 200 || response.body.rejected.length > 0) {
    throw new Error(`ingest failed: ${response.status} ${JSON.stringify(response.body)}`);
  }
}

export async function queryJson(
  http: TestAgent,
  query: Record<string, string | string[]>,
): Promise<{ lines: WireLineBody[]; nextCursor: string | null }> {
  const response = await http.get('/api/v1/logs').query({ format: 'json', ...query });
  if (response.status !== 200) throw new Error(`query failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as { lines: WireLineBody[]; nextCursor: string | null };
}
