import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LOG_STORE, LogStore } from '@daylog/storage';
import { startTestApp } from './support/test-app';

describe('health', () => {
  it('says ready while storage is open and 503 once it is closed', async () => {
    const t = await startTestApp();
    try {
      assert.deepEqual((await t.http.get('/readyz')).body, { status: 'ready' });
      await t.app.get<symbol, LogStore>(LOG_STORE).close();
      const response = await t.http.get('/readyz');
      assert.equal(response.status, 503);
      assert.deepEqual(response.body, { error: 'storage is not ready: closed, or its database cannot be reached' });
      assert.equal((await t.http.get('/healthz')).status, 200);
    } finally {
      await t.close();
    }
  });
});
