import { AggregatorProcess } from './aggregator-process';
import { BATCH_LINES, Dataset } from './dataset';
import { postAll } from './http-client';
import { formatInt, formatPercent, say, seconds } from './report';
import { WARM_UP_SHARE, steadyRate } from './steady-rate';

/** This process's CPU since `start`, said. */
export const cpuSince = (start: NodeJS.CpuUsage): string => {
  const used = process.cpuUsage(start);
  return `${((used.user + used.system) / 1e6).toFixed(1)} s`;
};

export const CLIENTS = 4;

/**
 * How a run is timed: `steady` after its first WARM_UP_SHARE of batches (steady-rate.ts), against a baseline
 * timed so too; `whole` from the first send.
 */
export type IngestTiming = 'steady' | 'whole';

/**
 * Every body of the dataset POSTed from CLIENTS clients, dealt among the replicas, timed; each replica's CPU
 * (all its threads) read from /proc around them. Any refusal fails the bench. Returns lines/s, timed as `timing` says.
 */
export async function httpIngest(
  replicas: readonly AggregatorProcess[],
  dataset: Dataset,
  tag: string,
  rawRate: number,
  timing: IngestTiming,
): Promise<number> {
  const lines = dataset.lines.length;
  const linesIn = (index: number) => Math.min(BATCH_LINES, lines - index * BATCH_LINES);
  const clientCpu = process.cpuUsage();
  const serverCpu = replicas.map((replica) => replica.cpuSeconds());
  const outcome = await postAll(replicas.map((replica) => replica.port), dataset.bodies, linesIn, CLIENTS);
  const serverCpuAfter = replicas.map((replica) => replica.cpuSeconds());
  if (outcome.failures > 0) {
    throw new Error(
      `${outcome.failures} of ${outcome.requests} ingest requests failed; the first:\n  ${outcome.problems.join('\n  ')}`,
    );
  }
  const wholeRate = lines / (outcome.ms / 1000);
  const steady = steadyRate(outcome.done);
  const rate = timing === 'steady' ? steady.linesPerSec : wholeRate;
  const used = serverCpu.map((before, i) => {
    const after = serverCpuAfter[i];
    return before === null || after === null ? 'n/a' : `${(after - before).toFixed(1)} s`;
  });
  const clients = replicas.length === 1 ? `${CLIENTS} clients` : `${CLIENTS} clients dealt among ${replicas.length} replicas`;
  say(
    `${tag} http: ${formatInt(lines)} lines in ${seconds(outcome.ms)} = ${formatInt(wholeRate)} lines/s; ` +
      `after the first ${formatPercent(WARM_UP_SHARE)} of batches ${formatInt(steady.lines)} lines in ${seconds(steady.ms)} = ${formatInt(steady.linesPerSec)} lines/s ` +
      `(${outcome.requests} POSTs from ${clients}, all 200 with every line accepted; cpu: ` +
      `${replicas.length === 1 ? 'aggregator' : 'aggregators'} ${used.join(' + ')}, bench client ${cpuSince(clientCpu)}); ` +
      `http/raw ${formatPercent(rate / rawRate)}${timing === 'steady' ? ' (both after the warm-up)' : ''}`,
  );
  return rate;
}
