import assert from 'node:assert/strict';
import { Client } from 'pg';
import { connectTo } from './postgres-cluster';
import { Answer, NoAnswer, Replica, SentLine, ingest, read, readOk } from './replicas';

/** Runs `work` on a connection of its own to `url`, made for it: one made before survives no restart of the database. */
export async function inDatabase<T>(url: string, work: (db: Client) => Promise<T>): Promise<T> {
  const db = await connectTo(url);
  try {
    return await work(db);
  } finally {
    await db.end();
  }
}

/** Lines stored per batch, a batch being a message's first word (KeyedLoad writes `<key> <n>`): read in the database itself. */
export async function storedPerBatch(client: Client, namespace: string): Promise<Map<string, number>> {
  const { rows } = await client.query<{ batch: string; lines: number }>(
    `SELECT split_part(l.message, ' ', 1) AS batch, count(*)::int AS lines
       FROM logs l JOIN streams s ON s.id = l.stream_id WHERE s.namespace = $1 GROUP BY 1`,
    [namespace],
  );
  return new Map(rows.map((row) => [row.batch, row.lines]));
}

export interface SentBatch {
  key: string;
  replica: Replica;
  sentAt: number;
  answer: Answer | NoAnswer;
}

export interface ReadAnswer {
  replica: Replica;
  sentAt: number;
  answer: Answer;
}

/**
 * Clients that keep sending keyed batches of `lines` lines to some replicas, each sender one batch after the
 * other (a new batch after a refusal, the refused one kept to be resent later), and, with `reads`, one reader
 * per replica asking for lines and counts; every answer kept. A sender whose replica no longer answers at all
 * stops.
 */
export class KeyedLoad {
  readonly batches: SentBatch[] = [];
  readonly reads: ReadAnswer[] = [];
  /** When each batch not answered yet was sent, by key. */
  private readonly unanswered = new Map<string, number>();
  private running = true;
  private failure: unknown = null;
  private readonly loops: Promise<void>[];

  constructor(
    targets: { replica: Replica; senders: number }[],
    readonly namespace: string,
    readonly lines: number,
    reads: boolean,
  ) {
    const loops = targets.flatMap(({ replica, senders }) => [
      ...Array.from({ length: senders }, (_, s) => this.send(replica, `${namespace}-${replica.name}-${s}`)),
      ...(reads ? [this.read(replica)] : []),
    ]);
    this.loops = loops.map((loop) => loop.catch((error: unknown) => void (this.failure ??= error)));
  }

  linesOf(key: string): SentLine[] {
    return Array.from({ length: this.lines }, (_, j) => ({ message: `${key} ${j}` }));
  }

  labels(): Record<string, string> {
    return { namespace: this.namespace, pod: 'load' };
  }

  answered(replica: Replica, status: number, since = 0): number {
    const batches = this.batches.filter((b) => b.replica === replica && b.sentAt >= since && !(b.answer instanceof NoAnswer) && b.answer.status === status);
    return batches.length;
  }

  readsAnswered(replica: Replica, status: number, since = 0): number {
    return this.reads.filter((r) => r.replica === replica && r.sentAt >= since && r.answer.status === status).length;
  }

  /** Whether every batch sent before `ms` has had its answer. */
  answeredAllSentBefore(ms: number): boolean {
    return [...this.unanswered.values()].every((sentAt) => sentAt >= ms);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    if (this.failure) throw this.failure as Error;
  }

  private async send(replica: Replica, sender: string): Promise<void> {
    for (let n = 0; this.running; n++) {
      const key = `${sender}-${n}`;
      const sentAt = Date.now();
      let answer: Answer | NoAnswer;
      this.unanswered.set(key, sentAt);
      try {
        answer = await ingest(replica, this.labels(), this.linesOf(key), key);
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
        answer = error;
      } finally {
        this.unanswered.delete(key);
      }
      this.batches.push({ key, replica, sentAt, answer });
      if (answer instanceof NoAnswer) return;
      // A client's pause after a refusal: without it, thousands of batches would be refused in a second.
      if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  private async read(replica: Replica): Promise<void> {
    for (let n = 0; this.running; n++) {
      const sentAt = Date.now();
      const answer = n % 2 === 0 ? await read(replica, '/api/v1/logs', { namespace: this.namespace, limit: '20' }) : await read(replica, '/api/v1/stats', { namespace: this.namespace });
      this.reads.push({ replica, sentAt, answer });
      if (answer.status !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

/** Runs `work` for each of `items`, `width` at a time. */
async function inTurns<T>(items: readonly T[], width: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await work(items[next++]);
  }));
}

/**
 * The batches of `load` in the database: every one acknowledged whole, every one refused (503) absent, every
 * other (no answer: its replica killed) whole or absent. With `lostAnswers`, a refused one may be whole too:
 * the database had committed it when the connection broke before its answer came, which no client of a
 * database can tell from a refusal (the database stopped or frozen as a batch commits). Those not stored are
 * then resent under their key to `resendTo`, which must store each (not a duplicate); those stored, resent
 * too, must be duplicates. In the end every batch is there once, whole, and the counts say as many lines.
 */
export async function checkBatches(load: KeyedLoad, dbUrl: string, resendTo: (batch: SentBatch) => Replica, { lostAnswers }: { lostAnswers: boolean }): Promise<void> {
  const stored = await inDatabase(dbUrl, (db) => storedPerBatch(db, load.namespace));
  const wrong = load.batches
    .map((batch) => {
      const lines = stored.get(batch.key) ?? 0;
      const status = batch.answer instanceof NoAnswer ? 'no answer' : batch.answer.status;
      const whole = lines === load.lines;
      const fine = status === 200 ? whole : status === 503 ? lines === 0 || (lostAnswers && whole) : status === 'no answer' && (lines === 0 || whole);
      const answered = batch.answer instanceof NoAnswer ? '' : ` after ${Math.round(batch.answer.ms)} ms`;
      return fine ? null : `${batch.key} (${batch.replica.name}, ${status}${answered}, sent at ${new Date(batch.sentAt).toISOString()}): ${lines} of ${load.lines} lines stored`;
    })
    .filter((problem) => problem !== null);
  assert.deepEqual(wrong, []);
  const unacknowledged = load.batches.filter((batch) => batch.answer instanceof NoAnswer || batch.answer.status !== 200);
  const resent: string[] = [];
  await inTurns(unacknowledged, 8, async (batch) => {
    const answer = await ingest(resendTo(batch), load.labels(), load.linesOf(batch.key), batch.key);
    const wasStored = stored.has(batch.key);
    const expected = wasStored ? { accepted: 0, rejected: [], duplicate: true } : { accepted: load.lines, rejected: [], duplicate: false };
    if (answer.status !== 200 || JSON.stringify(answer.body) !== JSON.stringify(expected)) resent.push(`${batch.key}: ${answer.status} ${JSON.stringify(answer.body)}`);
  });
  assert.deepEqual(resent, []);
  const after = await inDatabase(dbUrl, (db) => storedPerBatch(db, load.namespace));
  assert.deepEqual(
    load.batches.filter((batch) => after.get(batch.key) !== load.lines).map((batch) => `${batch.key}: ${after.get(batch.key) ?? 0}`),
    [],
  );
  assert.equal(after.size, load.batches.length, 'a batch stored that was never sent');
  const counted = await readOk(resendTo(load.batches[0]), '/api/v1/stats', { namespace: load.namespace });
  assert.equal(counted.total, load.batches.length * load.lines);
}
