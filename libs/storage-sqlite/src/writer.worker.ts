import { rm } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { PartitionWriter, WriterOptions } from './partition-writer';
import { WriterReply, WriterRequest } from './writer-protocol';

const port = parentPort!;
const writer = new PartitionWriter(workerData as WriterOptions);
let appends: Extract<WriterRequest, { type: 'append' }>[] = [];
let indexing = false;
let lastAppendAt = 0;
/** Lines indexed at a time: ~10 ms of work, the longest a batch waits for the indexer. */
const INDEX_CHUNK_LINES = 3000;
/**
 * While batches keep arriving, the indexer waits this long between chunks: it then takes about a fifth of
 * the writer's time (still some 60,000 lines a second) and catches up in full once ingest is quiet.
 */
const INDEX_PAUSE_WHILE_BUSY_MS = 40;
const BUSY_WINDOW_MS = 100;

function reply(message: WriterReply): void {
  port.postMessage(message);
}

function failed(id: number, error: unknown): WriterReply {
  const { message, code } = error as { message: string; code?: string };
  return { type: 'failed', id, message, code };
}

/**
 * Group commit: every append that arrived while the previous group was being written goes into
 * the next transaction, so concurrent senders share one fsync.
 */
function flushAppends(): void {
  const group = appends;
  appends = [];
  if (group.length === 0) return;
  try {
    const results = writer.append(group.map((request) => request.batch));
    group.forEach((request, i) => {
      const result = results[i];
      reply('failure' in result ? { type: 'failed', id: request.id, ...result.failure } : { type: 'done', id: request.id, result });
    });
  } catch (error) {
    for (const request of group) reply(failed(request.id, error));
  }
  scheduleIndexing();
}

/**
 * The full-text index is built in the writer's idle time, a chunk at a time, so that appends never
 * wait for more than one chunk and never share a transaction with it.
 */
function scheduleIndexing(delayMs = 0): void {
  if (indexing) return;
  indexing = true;
  if (delayMs > 0) setTimeout(indexChunk, delayMs);
  else setImmediate(indexChunk);
}

function indexChunk(): void {
  indexing = false;
  if (appends.length > 0) return;
  let more: boolean;
  try {
    more = writer.indexSome(INDEX_CHUNK_LINES);
  } catch {
    // A failed chunk (a full disk, say) is tried again after the next append.
    return;
  }
  if (more) scheduleIndexing(Date.now() - lastAppendAt < BUSY_WINDOW_MS ? INDEX_PAUSE_WHILE_BUSY_MS : 0);
}

/**
 * Unlinking a partition of a million lines takes ~0.1 s; it runs on libuv's pool so that appends
 * keep committing meanwhile. The catalogue no longer lists the partition, so nothing reads it.
 */
async function drop(id: number, cutoffMs: number): Promise<void> {
  try {
    const result = writer.dropBefore(cutoffMs);
    await Promise.all(result.filesToRemove.map((file) => rm(file, { force: true })));
    reply({ type: 'done', id, result });
  } catch (error) {
    reply(failed(id, error));
  }
}

port.on('message', (request: WriterRequest) => {
  if (request.type === 'append') {
    lastAppendAt = Date.now();
    appends.push(request);
    if (appends.length === 1) setImmediate(flushAppends);
    return;
  }
  flushAppends();
  if (request.type === 'drop') {
    void drop(request.id, request.cutoffMs);
    return;
  }
  try {
    reply({ type: 'done', id: request.id, result: writer.close() });
  } catch (error) {
    reply(failed(request.id, error));
  }
});

reply({ type: 'ready' });
scheduleIndexing();
