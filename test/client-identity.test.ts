import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TailClient } from './support/tail-client';
import { ManualClock, startTestApp } from './support/test-app';

const WRITER = 'ingest-token-0123456789';
const READER = 'read-token-0123456789abc';
const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4'];
const randomValue = () => `random-token-${Math.random().toString(36).slice(2)}`;

/** Where a request comes from (127.0.0.x: another address) and the bearer value it sends, if any. */
interface Sender {
  from: string;
  token?: string;
}

interface Answer {
  status: number;
  error?: string;
}

const TAILS_FULL = {
  status: 429,
  error: 'this client already has 2 live tails open, the most one client may have (DAYLOG_MAX_TAILS_PER_CLIENT): close one before opening another',
};
const BY_ADDRESS = /^more than 3 requests a minute from this address /;
const BY_TOKEN = /^more than 3 requests a minute for this token /;

/**
 * The app with both per-client limits small enough to reach in four requests: three tails then a query. Sent
 * by one client, the third is past its tails and the fourth past its rate; were the limits to tell clients
 * apart differently, one of the two would be let through.
 */
async function startLimited(env: Record<string, string>) {
  const t = await startTestApp({ clock: new ManualClock(Date.now()), env: { ...env, DAYLOG_RATE_LIMIT: '3/m', DAYLOG_MAX_TAILS_PER_CLIENT: '2' } });
  await t.app.listen({ port: 0, host: '127.0.0.1' });
  const base = await t.app.getUrl();
  const open: TailClient[] = [];

  async function send(path: string, { from, token }: Sender): Promise<Answer> {
    const client = new TailClient(`${base}${path}`, { localAddress: from, headers: token === undefined ? {} : { Authorization: `Bearer ${token}` } });
    const { statusCode } = await client.opened();
    if (statusCode === 200) {
      open.push(client);
      return { status: 200 };
    }
    await client.ended;
    return { status: statusCode!, error: (JSON.parse(client.lines[0]) as { error: string }).error };
  }

  return {
    /** Asserts that the four requests `senders` send count as one client in both limits. */
    async assertOneClient(senders: Sender[], rateLimited: RegExp): Promise<void> {
      const answers: Answer[] = [];
      for (const sender of senders.slice(0, 3)) answers.push(await send('/api/v1/tail?limit=0', sender));
      answers.push(await send('/api/v1/logs?limit=1', senders[3]));
      assert.deepEqual(answers.slice(0, 3), [{ status: 200 }, { status: 200 }, TAILS_FULL], 'the tails count against one client');
      assert.equal(answers[3].status, 429, 'the query counts against the same client');
      assert.match(answers[3].error!, rateLimited);
    },
    async close(): Promise<void> {
      for (const tail of open) tail.request.destroy();
      await t.close();
    },
  };
}

describe('one client for the rate limit and the tail limit (DAYLOG_RATE_LIMIT, DAYLOG_MAX_TAILS_PER_CLIENT)', () => {
  it('is the address for every bearer value the server does not know: random values get no budgets of their own', async () => {
    const app = await startLimited({ DAYLOG_INGEST_TOKENS: WRITER });
    try {
      await app.assertOneClient([{ from: '127.0.0.1' }, ...[1, 2, 3].map(() => ({ from: '127.0.0.1', token: randomValue() }))], BY_ADDRESS);
      await app.assertOneClient([1, 2, 3, 4].map(() => ({ from: '127.0.0.2', token: randomValue() })), BY_ADDRESS);
    } finally {
      await app.close();
    }
  });

  it('is a read token from whichever address it comes', async () => {
    const app = await startLimited({ DAYLOG_READ_TOKENS: READER });
    try {
      await app.assertOneClient(ADDRESSES.map((from) => ({ from, token: READER })), BY_TOKEN);
    } finally {
      await app.close();
    }
  });

  it('is an ingest token where reads need none, from whichever address it comes, and leaves the addresses their own budgets', async () => {
    const app = await startLimited({ DAYLOG_INGEST_TOKENS: WRITER });
    try {
      await app.assertOneClient(ADDRESSES.map((from) => ({ from, token: WRITER })), BY_TOKEN);
      await app.assertOneClient([1, 2, 3, 4].map(() => ({ from: '127.0.0.1' })), BY_ADDRESS);
    } finally {
      await app.close();
    }
  });
});
