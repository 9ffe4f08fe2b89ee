import { rm } from 'node:fs/promises';
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { fromWire } from './batch-wire';
import { IdleWorkPace } from './idle-work-pace';
import { PartitionWriter, WriterOptions } from './partition-writer';
import { WriterReply, WriterRequest } from './writer-protocol';

const port = parentPort!;
const writer = new PartitionWriter(workerData as WriterOptions);
let appends: Extract<WriterRequest, { type: 'append' }>[] = [];
let idleWorkScheduled = false;
let closing = false;
/** Lines indexed at a time: ~10 ms of work, the longest a batch waits for the indexer. */
const INDEX_CHUNK_LINES = 3000;
/** Blocks compacted at a time: ~5 ms of work each (1024 lines read, encoded, deflated and written). */
const COMPACTION_CHUNK_BLOCKS = 2;
/**
 * While batches keep the writer busy, idle work (the rewrite of closed hours, the word index) takes this share of
 * its time, and catches up in full once ingest leaves it idle time.
 */
const IDLE_SHARE_WHILE_BUSY = 0.1;
const idlePace = new IdleWorkPace(IDLE_SHARE_WHILE_BUSY);
/** How often a closed hour that has had a write lately is looked at again, when nothing else wakes the writer. */
const IDLE_RECHECK_MS = 1000;

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
  scheduleIdleWork();
}

/**
 * Closed partitions are compacted, and the word index of those not yet compacted built, in the writer's idle
 * time, a chunk at a time, so that appends never wait for more than one chunk and never share a transaction
 * with it. A partition that is not yet compactable is checked again after the next append, or every second.
 */
function scheduleIdleWork(atLeastMs = 0): void {
  if (idleWorkScheduled) return;
  idleWorkScheduled = true;
  const waitMs = Math.max(atLeastMs, idlePace.waitMs(performance.now()));
  if (waitMs > 0) setTimeout(idleChunk, waitMs);
  else setImmediate(idleChunk);
}

function idleChunk(): void {
  idleWorkScheduled = false;
  if (appends.length > 0 || closing) return;
  const startedAt = performance.now();
  let more: boolean;
  try {
    const compaction = writer.compactSome(COMPACTION_CHUNK_BLOCKS);
    void Promise.all(compaction.filesToRemove.map((file) => rm(file, { force: true })));
    more = compaction.more || writer.indexSome(INDEX_CHUNK_LINES);
  } catch {
    // A failed chunk (a full disk, say) is tried again after the next append.
    return;
  } finally {
    // Requests that came while the chunk ran are taken now: an append among them waited for the chunk.
    for (let arrived = receiveMessageOnPort(port); arrived; arrived = receiveMessageOnPort(port)) onRequest(arrived.message as WriterRequest);
    idlePace.chunkDone(startedAt, performance.now(), appends.length > 0);
  }
  if (more) scheduleIdleWork();
  else if (writer.awaitsCompaction()) scheduleIdleWork(IDLE_RECHECK_MS);
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
  closing = true;
  try {
    reply({ type: 'done', id: request.id, result: writer.close() });
  } catch (error) {
    reply(failed(request.id, error));
  }
}

port.on('message', onRequest);

reply({ type: 'ready' });
scheduleIdleWork();
