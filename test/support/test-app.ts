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
import { freshMigratedDatabase } from './postgres-cluster';

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

/** The engine startTestApp gives apps: SQLite unless DAYLOG_TEST_ENGINE=postgres (npm run test:postgres). */
export const TEST_ENGINE = testEngine(process.env.DAYLOG_TEST_ENGINE);

function testEngine(name: string | undefined): 'sqlite' | 'postgres' {
  if (name === undefined || name === 'sqlite' || name === 'postgres') return name ?? 'sqlite';
  throw new Error(`DAYLOG_TEST_ENGINE=${JSON.stringify(name)}: expected sqlite or postgres`);
}

/** On PostgreSQL, the database a data dir stands for: an app started again on the same dir finds its lines. */
const databasesOfDataDirs = new Map<string, string>();

/** The settings that give an app its storage: a data dir of its own on SQLite, a fresh database on PostgreSQL. */
export async function storageEnv(dataDir: string | undefined): Promise<Record<string, string>> {
  if (TEST_ENGINE === 'sqlite') return { DAYLOG_DATA_DIR: dataDir ?? tempDataDir(), DAYLOG_SYNCHRONOUS: 'normal' };
  const known = dataDir === undefined ? undefined : databasesOfDataDirs.get(dataDir);
  const url = known ?? (await freshMigratedDatabase());
  if (dataDir !== undefined) databasesOfDataDirs.set(dataDir, url);
  return { DAYLOG_POSTGRES_URL: url };
}

/**
 * The production bootstrap (createAggregator → configureApp) with real HTTP, on the engine the suite runs on
 * (TEST_ENGINE), or on the one `env` chooses: a temp data dir, or a fresh database.
 */
export async function startTestApp(
  options: { dataDir?: string; clock?: ManualClock | Clock; env?: Record<string, string> } = {},
): Promise<TestApp> {
  const chosen = options.env?.DAYLOG_POSTGRES_URL !== undefined || options.env?.DAYLOG_POSTGRES_URL_FILE !== undefined;
  const config = loadConfig({ ...(chosen ? {} : await storageEnv(options.dataDir)), ...options.env });
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
      if (config.postgres === null && !options.dataDir) rmSync(config.dataDir, { recursive: true, force: true });
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
