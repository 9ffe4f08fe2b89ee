import { rm } from 'node:fs/promises';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { fromWire } from './batch-wire';
import { IdleWorkPace } from './idle-work-pace';
import { PartitionWriter, WriterOptions } from './partition-writer';
import { WriterReply, WriterRequest } from './writer-protocol';

const port = parentPort!;
const writer = new PartitionWriter(workerData as WriterOptions);
let appends: Extract<WriterRequest, { type: 'append' }>[] = [];
let indexing = false;
/** Lines indexed at a time: ~10 ms of work, the longest a batch waits for the indexer. */
const INDEX_CHUNK_LINES = 3000;
/**
 * While batches keep the writer busy, the indexer takes this share of its time (still some 25,000 lines a second)
 * and catches up in full once ingest leaves it idle time.
 */
const INDEX_SHARE_WHILE_BUSY = 0.1;
const indexPace = new IdleWorkPace(INDEX_SHARE_WHILE_BUSY);

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
    const results = writer.append(group.map((request) => fromWire(request.batch)));
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
function scheduleIndexing(): void {
  if (indexing) return;
  indexing = true;
  const waitMs = indexPace.waitMs(performance.now());
  if (waitMs > 0) setTimeout(indexChunk, waitMs);
  else setImmediate(indexChunk);
}

function indexChunk(): void {
  indexing = false;
  if (appends.length > 0) return;
  const startedAt = performance.now();
  let more: boolean;
  try {
    more = writer.indexSome(INDEX_CHUNK_LINES);
  } catch {
    // A failed chunk (a full disk, say) is tried again after the next append.
    return;
  } finally {
    // Requests that came while the chunk ran are taken now: an append among them waited for the index.
    for (let arrived = receiveMessageOnPort(port); arrived; arrived = receiveMessageOnPort(port)) onRequest(arrived.message as WriterRequest);
    indexPace.chunkDone(startedAt, performance.now(), appends.length > 0);
  }
  if (more) scheduleIndexing();
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

function onRequest(request: WriterRequest): void {
  if (request.type === 'append') {
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
}

port.on('message', onRequest);

reply({ type: 'ready' });
scheduleIndexing();
