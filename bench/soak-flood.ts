import { statSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CATALOGUE_FILE } from '../libs/storage-sqlite/src/partition-writer';
import { send } from './http-client';

/** DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE for the soak: low, so that the flood passes it within a second. */
export const FLOOD_LABEL_SETS = 200;
export const FLOOD_NAMESPACE = 'flood';
/** A batch of lines of pods never seen before this often: 400 new label sets a second, as a rollout without end. */
const FLOOD_EVERY_MS = 250;
const PODS_PER_BATCH = 100;
/** How often the pods of the flood's namespace are counted through the API. */
const COUNT_EVERY_BATCHES = 8;
/** The catalogue is checkpointed at each MiB of WAL (libs/storage): twice that, and it has stopped being checkpointed. */
const CATALOGUE_WAL_MAX_BYTES = 2 * 1024 ** 2;
/** The catalogue holds a row per partition and per label set, a few hundred here: tens of KB, unless the flood grows it. */
const CATALOGUE_MAX_BYTES = 1024 ** 2;
const LIMIT_REACHED = new RegExp(
  `^namespace ${FLOOD_NAMESPACE} already has ${FLOOD_LABEL_SETS} label sets with lines within the retention, the most DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE allows: `,
);
/** The first few wrong answers are said in full; the others counted. */
const WRONG_SHOWN = 5;

const formatInt = (n: number) => Math.round(n).toLocaleString('en-US');
const kB = (bytes: number) => `${formatInt(bytes / 1e3)} kB`;
const MiB = (bytes: number) => `${bytes / 1024 ** 2} MiB`;

function fileBytes(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

interface IngestAnswerBody {
  accepted: number;
  rejected: { index: number; reason: string }[];
  duplicate: boolean;
}

/**
 * A team with a token limited to its namespace sends lines of new pods without end: past the cap each such
 * line must be refused in `rejected` naming the limit (a 200, the lines of known pods stored), never a 5xx;
 * the namespace never has more pods than the cap, and the catalogue, where each label set is a row, stays small.
 */
export class Flooder {
  /** Answers otherwise than documented, and breaches of the bounds, said in a line each. */
  private readonly problems: string[] = [];
  private readonly statuses = new Map<string, number>();
  private sentLines = 0;
  private storedLines = 0;
  private refusedLines = 0;
  private mostPods = 0;
  private mostCatalogueBytes = 0;
  private mostWalBytes = 0;

  constructor(
    private readonly port: number,
    private readonly dataDir: string,
    private readonly writerHeaders: http.OutgoingHttpHeaders,
    private readonly readerHeaders: http.OutgoingHttpHeaders,
  ) {}

  async run(endAt: number): Promise<void> {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    for (let batchNo = 0; Date.now() + FLOOD_EVERY_MS < endAt; batchNo++) {
      const started = Date.now();
      await this.sendBatch(agent, batchNo);
      this.sampleCatalogue();
      if (batchNo % COUNT_EVERY_BATCHES === 0) await this.countPods(agent);
      await sleep(Math.max(0, started + FLOOD_EVERY_MS - Date.now()));
    }
    await this.countPods(agent);
    this.sampleCatalogue();
    if (this.refusedLines === 0) this.fail(`none of ${formatInt(this.sentLines)} lines of new pods was refused`);
    agent.destroy();
  }

  /** The first few problems, and how many more. */
  get wrong(): string[] {
    const more = this.problems.length - WRONG_SHOWN;
    return more > 0 ? [...this.problems.slice(0, WRONG_SHOWN), `and ${more} more`] : this.problems;
  }

  summary(): string {
    const answers = [...this.statuses].map(([status, n]) => `${status}: ${formatInt(n)}`).join(', ') || 'none sent';
    return (
      `label-set flood (a token limited to ${FLOOD_NAMESPACE}, DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE=${FLOOD_LABEL_SETS}): ` +
      `${formatInt(this.sentLines)} lines of new pods sent, ${formatInt(this.storedLines)} stored, ${formatInt(this.refusedLines)} refused naming the limit; ` +
      `answers ${answers}; at most ${formatInt(this.mostPods)} pods in ${FLOOD_NAMESPACE}; ` +
      `catalogue file at most ${kB(this.mostCatalogueBytes)} (bound ${MiB(CATALOGUE_MAX_BYTES)}), its WAL at most ${kB(this.mostWalBytes)} (bound ${MiB(CATALOGUE_WAL_MAX_BYTES)})`
    );
  }

  private async sendBatch(agent: http.Agent, batchNo: number): Promise<void> {
    const pods = Array.from({ length: PODS_PER_BATCH }, (_, i) => `rollout-${batchNo}-${i}`);
    const body = Buffer.from(JSON.stringify({ labels: { namespace: FLOOD_NAMESPACE, container: 'app' }, lines: pods.map((pod) => ({ pod, message: `started ${pod}` })) }));
    this.sentLines += pods.length;
    let status: string;
    let text = '';
    try {
      const answer = await send(agent, this.port, 'POST', '/api/v1/logs', body, this.writerHeaders);
      status = String(answer.status);
      text = answer.body;
    } catch (error) {
      status = `network (${(error as Error).message})`;
    }
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    const problem = status === '200' ? this.readAnswer(JSON.parse(text) as IngestAnswerBody) : `${status} ${text.slice(0, 200)}`;
    if (problem) this.fail(`batch ${batchNo}: ${problem}`);
  }

  /** What is wrong with a 200 to a batch of new pods: lines neither stored nor refused for the limit. */
  private readAnswer({ accepted, rejected, duplicate }: IngestAnswerBody): string | null {
    this.storedLines += accepted;
    this.refusedLines += rejected.length;
    const otherwise = rejected.find((r) => !LIMIT_REACHED.test(r.reason));
    if (otherwise) return `line ${otherwise.index} refused otherwise: ${otherwise.reason}`;
    if (duplicate || accepted + rejected.length !== PODS_PER_BATCH) return `${accepted} accepted and ${rejected.length} refused of ${PODS_PER_BATCH}${duplicate ? ', as a duplicate' : ''}`;
    return null;
  }

  private async countPods(agent: http.Agent): Promise<void> {
    const path = `/api/v1/labels/pod?namespace=${FLOOD_NAMESPACE}&format=json`;
    const answer = await send(agent, this.port, 'GET', path, undefined, this.readerHeaders);
    if (answer.status !== 200) return this.fail(`GET ${path} answered ${answer.status}: ${answer.body.slice(0, 200)}`);
    const pods = (JSON.parse(answer.body) as { values: unknown[] }).values.length;
    this.mostPods = Math.max(this.mostPods, pods);
    if (pods > FLOOD_LABEL_SETS) this.fail(`${pods} pods in ${FLOOD_NAMESPACE}, past the limit of ${FLOOD_LABEL_SETS}`);
  }

  private sampleCatalogue(): void {
    const catalogue = join(this.dataDir, CATALOGUE_FILE);
    const wal = fileBytes(`${catalogue}-wal`);
    const bytes = fileBytes(catalogue);
    if (wal > CATALOGUE_WAL_MAX_BYTES && this.mostWalBytes <= CATALOGUE_WAL_MAX_BYTES) this.fail(`the catalogue's WAL reached ${kB(wal)}`);
    if (bytes > CATALOGUE_MAX_BYTES && this.mostCatalogueBytes <= CATALOGUE_MAX_BYTES) this.fail(`the catalogue file reached ${kB(bytes)}`);
    this.mostWalBytes = Math.max(this.mostWalBytes, wal);
    this.mostCatalogueBytes = Math.max(this.mostCatalogueBytes, bytes);
  }

  private fail(problem: string): void {
    this.problems.push(problem);
  }
}
