import assert from 'node:assert/strict';
import { TestApp } from './test-app';

/** Ingest tokens of two teams (DAYLOG_INGEST_TOKENS), for the label-set tests. */
export const SHOP_WRITER = 'shop-ingest-token-0123456789';
export const PAYMENTS_WRITER = 'payments-ingest-token-0123456789';
export const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Lines each of a pod never seen before, as a deployment rolling without end would send. */
export const newPods = (prefix: string, count: number) => ({
  labels: { namespace: 'shop' },
  lines: Array.from({ length: count }, (_, i) => ({ pod: `${prefix}-${i}`, message: `started ${i}` })),
});

/** A metric's value as /metrics shows it. */
export async function metric(t: TestApp, name: string): Promise<number> {
  const line = (await t.http.get('/metrics')).text.split('\n').find((l) => l.startsWith(`${name} `));
  assert.ok(line, `${name} is exposed`);
  return Number(line.split(' ')[1]);
}
