import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadShipperConfig } from '@daylog/config/shipper';
import { AggregatorClient, CheckpointStore, DeliveryHealth, FileCheckpoint, NodeAgent, ShipperMetrics } from '@daylog/shipper';
import { until } from './support/shipper-harness';

const CONTAINERS = 20;

/** The real store, counting the saves asked of it. */
class CountingStore extends CheckpointStore {
  saves = 0;

  override save(files: Iterable<FileCheckpoint>): Promise<void> {
    this.saves++;
    return super.save(files);
  }
}

describe('node agent listing', () => {
  it('saves the checkpoints of the files one listing finds at once, not once a file: a node\'s first listing waited on an fsync each', async () => {
    const root = mkdtempSync(join(tmpdir(), 'daylog-listing-'));
    try {
      const podsDir = join(root, 'pods');
      for (let i = 0; i < CONTAINERS; i++) {
        const dir = join(podsDir, `shop_web-${i}_3f5c2a4e-8b1d-4c6f-9e2a-${String(i).padStart(12, '0')}`, 'nginx');
        mkdirSync(dir, { recursive: true });
        writeFileSync(join(dir, '0.log'), '');
      }
      // Nothing is sent: the files are empty.
      const config = loadShipperConfig({ DAYLOG_URL: 'http://127.0.0.1:9', DAYLOG_PODS_DIR: podsDir, DAYLOG_STATE_DIR: join(root, 'state') });
      const metrics = new ShipperMetrics();
      const store = new CountingStore(config.stateDir);
      const agent = new NodeAgent(config, new AggregatorClient(config, metrics, new DeliveryHealth(metrics)), store, metrics);
      const running = agent.run();
      const stateFile = join(config.stateDir, 'checkpoints.json');
      const saved = () => (existsSync(stateFile) ? Object.keys((JSON.parse(readFileSync(stateFile, 'utf8')) as { files: object }).files).length : 0);
      await until(`${CONTAINERS} files' checkpoints saved`, () => saved() === CONTAINERS);
      assert.equal(store.saves, 1);
      await agent.stop();
      await running;
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
