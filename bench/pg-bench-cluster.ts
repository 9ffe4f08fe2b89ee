import { Client } from 'pg';
import { PostgresCluster } from '../test/support/postgres-cluster';
import { applySchema, createHourlyPartitions } from '../test/support/postgres-schema';
import { CONTAINER, NAMESPACE, POD_COUNT, SOURCE, podName } from './dataset';
import { say } from './report';

/**
 * A production's durability (every commit flushed to disk, as the SQLite baseline's synchronous=FULL) on
 * PostgreSQL's default memory: what a stock server on this machine gives. Connections for two aggregator
 * replicas (ten each, a follower of commits and a word index build) and the bench's own.
 */
export const DURABLE_SETTINGS = { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on', shared_buffers: '128MB', max_connections: 50 };

/** The database raw COPY runs copy: the schema, the data's hours as partitions and its label sets. */
export const TEMPLATE = 'daylog_template';

export function describeSettings(): string {
  return Object.entries(DURABLE_SETTINGS).map(([name, value]) => `${name}=${value}`).join(' ');
}

export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  // A failed query rejects its own promise; this is only the connection lost when a failed run kills the cluster.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** TEMPLATE, made once: returns each pod's label set id. */
export async function makeTemplate(cluster: PostgresCluster, firstTs: number, lastTs: number): Promise<Map<string, number>> {
  const client = await connect(await cluster.createDatabase(TEMPLATE));
  try {
    await applySchema(client);
    const hours = await createHourlyPartitions(client, firstTs, lastTs);
    const pods = Array.from({ length: POD_COUNT }, (_, i) => podName(i));
    const { rows } = await client.query<{ id: number; pod: string }>(
      `INSERT INTO streams (namespace, pod, container, source)
       SELECT $1, pod, $2, $3 FROM unnest($4::text[]) AS pod RETURNING id, pod`,
      [NAMESPACE, CONTAINER, SOURCE, pods],
    );
    say(`template: migrations/postgres applied, ${hours} hourly partitions of each partitioned table, ${rows.length} label sets`);
    return new Map(rows.map((row) => [row.pod, row.id]));
  } finally {
    await client.end();
  }
}

/** Drops a database nobody is connected to any more (a run's, once measured): its hundreds of MB go at once. */
export async function dropDatabase(cluster: PostgresCluster, name: string): Promise<void> {
  const client = await connect(cluster.url());
  try {
    await client.query(`DROP DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}
