import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { PostgresCluster, startPostgres } from './support/postgres-cluster';

async function queryOnce<T>(url: string, sql: string): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql)).rows as T[];
  } finally {
    await client.end();
  }
}

describe('a throwaway PostgreSQL cluster for tests', () => {
  let cluster: PostgresCluster;

  before(async () => {
    cluster = await startPostgres();
  });

  after(async () => {
    await cluster.stop();
  });

  it('answers over its Unix socket and over loopback TCP with the password in the URL', async () => {
    const [socket] = await queryOnce<{ version: string; socket: string | null }>(
      cluster.url(),
      `SELECT current_setting('server_version_num') AS version, inet_server_addr()::text AS socket`,
    );
    assert.match(socket.version, /^15\d{4}$/);
    assert.equal(socket.socket, null);
    const [tcp] = await queryOnce<{ address: string }>(cluster.tcpUrl(), 'SELECT host(inet_server_addr()) AS address');
    assert.equal(tcp.address, '127.0.0.1');
    const withoutPassword = cluster.tcpUrl().replace(/:[^:@/]+@/, '@');
    await assert.rejects(queryOnce(withoutPassword, 'SELECT 1'), /password/);
  });

  it('makes databases, copies of a template when asked', async () => {
    const templateUrl = await cluster.createDatabase('template_with_table');
    await queryOnce(templateUrl, 'CREATE TABLE kept (n integer); INSERT INTO kept VALUES (42)');
    const copyUrl = await cluster.createDatabase('copy_of_template', 'template_with_table');
    assert.deepEqual(await queryOnce(copyUrl, 'SELECT n FROM kept'), [{ n: 42 }]);
  });

  it('keeps its data across a clean restart and across a crash, and is down in between', async () => {
    await queryOnce(cluster.url(), 'CREATE TABLE survives (n integer); INSERT INTO survives VALUES (1)');
    let refusedWhileDown: unknown = null;
    await cluster.restart({
      whileDown: async () => {
        refusedWhileDown = await queryOnce(cluster.url(), 'SELECT 1').catch((error: unknown) => error);
      },
    });
    assert.ok(refusedWhileDown instanceof Error, `a query while down answered ${JSON.stringify(refusedWhileDown)}`);
    // Committed just before the crash: only a commit written out before it returned survives.
    await queryOnce(cluster.url(), 'INSERT INTO survives VALUES (2)');
    await cluster.restart({ immediate: true });
    assert.deepEqual(await queryOnce(cluster.url(), 'SELECT n FROM survives ORDER BY n'), [{ n: 1 }, { n: 2 }]);
  });

  it('leaves nothing behind once stopped', async () => {
    const other = await startPostgres();
    assert.ok(existsSync(other.dir));
    await other.stop();
    assert.equal(existsSync(other.dir), false);
    await assert.rejects(queryOnce(other.url(), 'SELECT 1'));
  });
});
