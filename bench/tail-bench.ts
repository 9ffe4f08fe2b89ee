import http from 'node:http';
import { AggregatorProcess } from './aggregator-process';
import { makeTempDir, nowMs, removeTempDir } from './bench-support';
import { BATCH_LINES, Dataset } from './dataset';
import { HOST, postAll } from './http-client';

export interface TailOutcome {
  tails: number;
  lines: number;
  /** Ingest of the same lines without tails, then with them, lines/s. */
  ingestAloneRate: number;
  ingestWithTailsRate: number;
  /** Lines written to all tails together, per second, from the first POST to the last line read. */
  deliveredPerSec: number;
  delivered: number;
  dropped: number;
}

/** An unfiltered tail (text, no starting lines) that counts the lines it reads and the drops it is told of. */
function openTail(port: number): Promise<{ lines: () => number; dropped: () => number; lastAt: () => number; close: () => void }> {
  return new Promise((resolve, reject) => {
    let lines = 0;
    let dropped = 0;
    let lastAt = 0;
    const request = http.get({ host: HOST, port, path: '/api/v1/tail?limit=0', agent: false }, (response) => {
      if (response.statusCode !== 200) {
        reject(new Error(`tail bench: a tail was answered ${response.statusCode}`));
        return;
      }
      // Counting newlines in the bytes keeps this reader cheap: it shares the machine with the aggregator.
      response.on('data', (chunk: Buffer) => {
        for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
        if (chunk.includes('# daylog: ')) {
          for (const notice of chunk.toString().matchAll(/^# daylog: (\d+) lines dropped/gm)) {
            dropped += Number(notice[1]);
            lines--;
          }
        }
        lastAt = nowMs();
      });
      resolve({ lines: () => lines, dropped: () => dropped, lastAt: () => lastAt, close: () => request.destroy() });
    });
    request.on('error', reject);
  });
}

async function ingest(port: number, bodies: readonly Buffer[], lines: number, clients: number): Promise<number> {
  const outcome = await postAll(port, bodies, (i) => Math.min(BATCH_LINES, lines - i * BATCH_LINES), clients);
  if (outcome.failures > 0) throw new Error(`tail bench: ${outcome.failures} POSTs failed: ${outcome.problems.join('; ')}`);
  return outcome.ms;
}

/**
 * The same lines ingested into a fresh aggregator with no tail open, then into another with `tails`
 * unfiltered tails reading every line: how fast ingest goes with them, and how many lines reach them.
 */
export async function tailFanOut(dataset: Dataset, lines: number, tails: number, clients: number): Promise<TailOutcome> {
  const bodies = dataset.bodies.slice(0, Math.ceil(lines / BATCH_LINES));
  const run = async <T>(work: (aggregator: AggregatorProcess) => Promise<T>): Promise<T> => {
    const dataDir = makeTempDir('tail');
    // Every tail comes from this one client: the per-client limit must let them all open.
    const aggregator = await AggregatorProcess.start(dataDir, { DAYLOG_MAX_TAILS_PER_CLIENT: String(tails), DAYLOG_MAX_TAILS: String(tails) });
    try {
      const result = await work(aggregator);
      await aggregator.stop();
      return result;
    } catch (error) {
      aggregator.kill();
      throw error;
    } finally {
      removeTempDir(dataDir);
    }
  };

  const aloneMs = await run((aggregator) => ingest(aggregator.port, bodies, lines, clients));
  return run(async (aggregator) => {
    const readers = await Promise.all(Array.from({ length: tails }, () => openTail(aggregator.port)));
    const started = nowMs();
    const withTailsMs = await ingest(aggregator.port, bodies, lines, clients);
    const seen = () => readers.reduce((sum, r) => sum + r.lines() + r.dropped(), 0);
    const deadline = nowMs() + 30_000;
    while (seen() < lines * tails && nowMs() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    const delivered = readers.reduce((sum, r) => sum + r.lines(), 0);
    const dropped = readers.reduce((sum, r) => sum + r.dropped(), 0);
    const lastAt = Math.max(...readers.map((r) => r.lastAt()));
    for (const reader of readers) reader.close();
    return {
      tails,
      lines,
      ingestAloneRate: lines / (aloneMs / 1000),
      ingestWithTailsRate: lines / (withTailsMs / 1000),
      deliveredPerSec: delivered / ((lastAt - started) / 1000),
      delivered,
      dropped,
    };
  });
}
