import Database from 'better-sqlite3';
import { join } from 'node:path';

export interface PartitionGeneration {
  name: string;
  startMs: number;
  endMs: number;
  /** 0: the file its lines were written to; 1 and on: compacted. */
  generation: number;
}

/** The partitions the catalogue lists, oldest first, with the generation of the file that holds each. */
export function partitionGenerations(dataDir: string): PartitionGeneration[] {
  const db = new Database(join(dataDir, 'catalogue.db'), { readonly: true });
  try {
    return db.prepare('SELECT name, start_ms AS startMs, end_ms AS endMs, generation FROM partitions ORDER BY start_ms').all() as PartitionGeneration[];
  } finally {
    db.close();
  }
}

/** Waits until the partitions ending by `closedBy` are all compacted; the state when they are. */
export async function untilCompacted(dataDir: string, closedBy: number, timeoutMs = 60_000): Promise<PartitionGeneration[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = partitionGenerations(dataDir);
    if (state.every((p) => p.endMs > closedBy || p.generation > 0)) return state;
    if (Date.now() > deadline) throw new Error(`not compacted in ${timeoutMs} ms: ${JSON.stringify(state)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
