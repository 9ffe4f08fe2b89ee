import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { AggregatorProcess } from './aggregator-process';
import { runMain, dirBytes, envInt, makeTempDir, nowMs, percentile } from './bench-support';
import { HOST, send } from './http-client';
import { Bomber } from './soak-bombs';
import { FLOOD_LABEL_SETS, FLOOD_NAMESPACE, Flooder } from './soak-flood';

/**
 * `npm run soak`: the real aggregator on loopback for SOAK_SECONDS (10 minutes), fed at a fixed rate by
 * SOAK_CLIENTS senders while a reader runs queries, a live tail filters every line with a hostile regex, the
 * pruner drops minute partitions past a two-minute retention, a small body that would become millions of
 * lines is sent every few seconds, and another team floods its namespace with new pods. Each client has a token
 * limited to its namespace. Every acknowledged line is looked for while it is still kept; the run fails if one is
 * missing, if a bomb is not refused with its 413, if the flood is answered otherwise than documented or grows the
 * catalogue, if the aggregator's memory grows, or if the tail is sent a line its regex does not match, or none.
 */
const SECONDS = envInt('SOAK_SECONDS', 600, 30);
const CLIENTS = envInt('SOAK_CLIENTS', 4, 1);
const BATCHES_PER_SECOND = envInt('SOAK_BATCHES_PER_SECOND', 10, 1);
const LINES_PER_BATCH = envInt('SOAK_LINES_PER_BATCH', 200, 1);
const RETENTION_MS = 120_000;
/** A sender with this many batches unanswered skips its next ones (counted), so the load stays bounded. */
const MAX_IN_FLIGHT = 16;
/** Lines are looked for once this old, in windows this long, and counted as unchecked past this age. */
const VERIFY_AFTER_MS = 10_000;
const VERIFY_EVERY_MS = 15_000;
const TOO_OLD_TO_VERIFY_MS = RETENTION_MS - 30_000;
const QUERY_EVERY_MS = 250;
const MAX_ATTEMPTS = 5;
const RETRY_AFTER_MS = 200;
const RSS_EVERY_MS = 10_000;
/**
 * Memory is flat when the end is within this factor of the sample taken once the store is in its steady
 * state (the retention full, the pruner dropping a partition a minute): three minutes in, or half a short run.
 */
const RSS_FLAT_FACTOR = 1.25;
const STEADY_AFTER_S = Math.min(180, SECONDS / 2);
/**
 * What the load may add to the idle process (its RSS before the first request, ~140 MB, 58 of them node's own code):
 * V8's heaps grown with garbage between collections and glibc's arenas, measured at 1.7–2.1× it. The issue's first
 * bound, 150 MB, is the idle process itself.
 */
const RSS_OVER_IDLE_FACTOR = 2.5;

/**
 * A live tail reads every line with a regex whose second branch backtracks exponentially on each line the
 * first does not match (it changes engine after a few thousand backtracks): ingest must not wait for it.
 */
const TAIL_REGEX = 'seq=\\d*42 |(.|.)*\\x00';
const TAIL_MATCHES = /seq=\d*42 /;

/** Each client's token, limited to its namespace: the senders, reader and tail's, and the flooding team's. */
const SOAK_WRITER = 'soak-writer-token-0123456789';
const SOAK_READER = 'soak-reader-token-0123456789';
const FLOOD_WRITER = 'flood-writer-token-0123456789';
const FLOOD_READER = 'flood-reader-token-0123456789';
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const WORDS = ['GET', 'POST', 'orders', 'cart', 'checkout', 'payment', 'declined', 'timeout', 'upstream', 'retry'];

interface Batch {
  client: number;
  firstSeq: number;
  ts: number;
}

const say = (text: string) => console.log(text);
const formatInt = (n: number) => Math.round(n).toLocaleString('en-US');
const mb = (bytes: number | null) => (bytes === null ? 'n/a' : `${(bytes / 1e6).toFixed(1)} MB`);
const ms = (values: number[], p: number) => (values.length === 0 ? 'n/a' : `${percentile(values, p).toFixed(1)} ms`);

class Tally {
  readonly counts = new Map<string, number>();
  add(key: string, n = 1): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + n);
  }
  toString(): string {
    return this.counts.size === 0 ? 'none' : [...this.counts].map(([key, n]) => `${key}: ${formatInt(n)}`).join(', ');
  }
}

interface RegexTail {
  lines: number;
  notMatching: number;
  skipped: number;
  dropped: number;
  close(): void;
}

/** The regex tail over ndjson: the lines it is sent (each should match), and the lines it is told it missed. */
function openRegexTail(port: number): Promise<RegexTail> {
  return new Promise((resolve, reject) => {
    const path = `/api/v1/tail?namespace=soak&limit=0&format=ndjson&regex=${encodeURIComponent(TAIL_REGEX)}`;
    const request = http.get({ host: HOST, port, path, agent: false, headers: bearer(SOAK_READER) }, (response) => {
      const tail: RegexTail = { lines: 0, notMatching: 0, skipped: 0, dropped: 0, close: () => request.destroy() };
      let partial = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        const parts = (partial + chunk).split('\n');
        partial = parts.pop()!;
        for (const part of parts) {
          const line = JSON.parse(part) as { message?: string; skipped?: number; dropped?: number };
          if (line.message === undefined) {
            tail.skipped += line.skipped ?? 0;
            tail.dropped += line.dropped ?? 0;
          } else {
            tail.lines++;
            if (!TAIL_MATCHES.test(line.message)) tail.notMatching++;
          }
        }
      });
      resolve(tail);
    });
    request.on('error', reject);
  });
}

function lineOf(client: number, seq: number, ts: number) {
  const word = WORDS[seq % WORDS.length];
  return {
    ts,
    level: seq % 50 === 0 ? 'error' : 'info',
    message: `soak ${client} seq=${seq} ${word} /api/${WORDS[(seq >> 3) % WORDS.length]}/${seq % 997} took ${seq % 400} ms`,
  };
}

async function main(): Promise<void> {
  const dataDir = makeTempDir('soak');
  const aggregator = await AggregatorProcess.start(dataDir, {
    DAYLOG_RETENTION: '2m',
    DAYLOG_PARTITION: '1m',
    DAYLOG_PRUNE_INTERVAL: '5s',
    DAYLOG_INGEST_TOKENS: `${SOAK_WRITER}=soak,${FLOOD_WRITER}=${FLOOD_NAMESPACE}`,
    DAYLOG_READ_TOKENS: `${SOAK_READER}=soak,${FLOOD_READER}=${FLOOD_NAMESPACE}`,
    DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE: String(FLOOD_LABEL_SETS),
  });
  const port = aggregator.port;
  const rate = CLIENTS * BATCHES_PER_SECOND * LINES_PER_BATCH;
  say(
    `soak: ${SECONDS} s, ${CLIENTS} senders × ${BATCHES_PER_SECOND} batches/s × ${LINES_PER_BATCH} lines = ${formatInt(rate)} lines/s, ` +
      `queries every ${QUERY_EVERY_MS} ms, retention 2m in 1m partitions pruned every 5 s (DAYLOG_SYNCHRONOUS=full), ` +
      `a flood of new pods past DAYLOG_MAX_LABEL_SETS_PER_NAMESPACE=${FLOOD_LABEL_SETS}`,
  );

  const bomber = new Bomber(port, bearer(FLOOD_WRITER));
  const flooder = new Flooder(port, dataDir, bearer(FLOOD_WRITER), bearer(FLOOD_READER));
  const started = Date.now();
  const endAt = started + SECONDS * 1000;
  const rss: { atS: number; bytes: number | null }[] = [{ atS: 0, bytes: aggregator.rssBytes() }];
  const ingestMs: number[] = [];
  const ingestStatus = new Tally();
  const queryMs = new Map<string, number[]>();
  const queryStatus = new Tally();
  const acked: Batch[][] = Array.from({ length: CLIENTS }, () => []);
  const inFlight = new Set<Batch>();
  let sentLines = 0;
  let ackedLines = 0;
  let skippedBatches = 0;
  let retriedBatches = 0;
  /** Batches answered with what a resend would not change (a 4xx): the flood next door must cause none. */
  let refusedBatches = 0;

  const ingestAgent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS * MAX_IN_FLIGHT });
  async function sendBatch(client: number, batchNo: number, outstanding: { n: number }): Promise<void> {
    if (outstanding.n >= MAX_IN_FLIGHT) {
      skippedBatches++;
      return;
    }
    const ts = Date.now();
    const firstSeq = batchNo * LINES_PER_BATCH;
    const batch: Batch = { client, firstSeq, ts };
    const lines = Array.from({ length: LINES_PER_BATCH }, (_, i) => lineOf(client, firstSeq + i, ts));
    const body = Buffer.from(JSON.stringify({ labels: { namespace: 'soak', pod: `soak-${client}`, container: 'app' }, lines }));
    outstanding.n++;
    inFlight.add(batch);
    sentLines += LINES_PER_BATCH;
    try {
      // As a sender does: a lost connection, a 429 or a 5xx is retried with the same Idempotency-Key.
      for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
        const t0 = nowMs();
        let status: string;
        try {
          status = String((await send(ingestAgent, port, 'POST', '/api/v1/logs', body, { ...bearer(SOAK_WRITER), 'idempotency-key': `soak-${client}-${batchNo}` })).status);
          ingestMs.push(nowMs() - t0);
        } catch (error) {
          status = `network (${(error as Error).message})`;
        }
        ingestStatus.add(status);
        if (status === '200') {
          acked[client].push(batch);
          ackedLines += LINES_PER_BATCH;
          return;
        }
        if (status !== '429' && !status.startsWith('5') && !status.startsWith('network')) {
          refusedBatches++;
          return;
        }
        if (attempt < MAX_ATTEMPTS) retriedBatches++;
        await sleep(RETRY_AFTER_MS);
      }
    } finally {
      outstanding.n--;
      inFlight.delete(batch);
    }
  }

  async function sender(client: number): Promise<void> {
    const outstanding = { n: 0 };
    const intervalMs = 1000 / BATCHES_PER_SECOND;
    // Senders start spread over one interval, then keep a fixed schedule however long answers take.
    const first = Date.now() + (intervalMs * client) / CLIENTS;
    for (let batchNo = 0; ; batchNo++) {
      const due = first + batchNo * intervalMs;
      if (due >= endAt) break;
      await sleep(Math.max(0, due - Date.now()));
      void sendBatch(client, batchNo, outstanding);
    }
    while (outstanding.n > 0) await sleep(20);
  }

  const queryAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const queries: [string, () => string][] = [
    ['pod_newest', () => `/api/v1/logs?pod=soak-${Math.floor(Math.random() * CLIENTS)}&limit=100`],
    ['errors', () => '/api/v1/logs?level=error&limit=100&format=ndjson'],
    ['substring', () => `/api/v1/logs?q=seq%3D${Math.floor(Math.random() * 1000)}&since=1m&limit=50`],
    ['word', () => `/api/v1/logs?match=${WORDS[Math.floor(Math.random() * WORDS.length)]}&since=2m&limit=100`],
    ['stats', () => '/api/v1/stats?since=2m&by=pod&format=json'],
    ['labels', () => '/api/v1/labels/pod?format=json'],
  ];
  async function reader(): Promise<void> {
    for (let i = 0; Date.now() < endAt; i++) {
      const [kind, path] = queries[i % queries.length];
      const t0 = nowMs();
      try {
        const answer = await send(queryAgent, port, 'GET', path(), undefined, bearer(SOAK_READER));
        (queryMs.get(kind) ?? queryMs.set(kind, []).get(kind)!).push(nowMs() - t0);
        queryStatus.add(`${kind} ${answer.status}`);
      } catch (error) {
        queryStatus.add(`${kind} network (${(error as Error).message})`);
      }
      await sleep(QUERY_EVERY_MS);
    }
  }

  /** The seqs one pod has stored with ts in [fromMs, toMs), read page by page. */
  const verifyAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  async function storedSeqs(client: number, fromMs: number, toMs: number): Promise<number[]> {
    const seqs: number[] = [];
    const base = `/api/v1/logs?pod=soak-${client}&from=${new Date(fromMs).toISOString()}&to=${new Date(toMs).toISOString()}&direction=forward&limit=5000&format=ndjson`;
    let cursor: string | undefined;
    do {
      const answer = await send(verifyAgent, port, 'GET', cursor ? `${base}&cursor=${encodeURIComponent(cursor)}` : base, undefined, bearer(SOAK_READER));
      if (answer.status !== 200) throw new Error(`verifying: GET ${base} answered ${answer.status}: ${answer.body.slice(0, 200)}`);
      for (const text of answer.body.split('\n')) {
        if (!text) continue;
        const line = JSON.parse(text) as { ts: string; message: string };
        if (Date.parse(line.ts) >= toMs) continue;
        seqs.push(Number(/seq=(\d+)/.exec(line.message)![1]));
      }
      cursor = answer.headers['x-next-cursor'] as string | undefined;
    } while (cursor);
    return seqs;
  }

  let verifiedUpTo = started - 1;
  let foundLines = 0;
  let missingLines = 0;
  let duplicateLines = 0;
  let uncheckedLines = 0;
  let unacknowledgedFound = 0;
  /** Checks every acknowledged line with ts in [verifiedUpTo, upTo): each found once, none missing. */
  async function verifyUpTo(upTo: number): Promise<void> {
    const fromMs = verifiedUpTo;
    if (upTo <= fromMs) return;
    const tooOld = Date.now() - TOO_OLD_TO_VERIFY_MS;
    for (let client = 0; client < CLIENTS; client++) {
      const expected = acked[client].filter((b) => b.ts >= fromMs && b.ts < upTo);
      if (fromMs < tooOld) {
        uncheckedLines += expected.length * LINES_PER_BATCH;
        continue;
      }
      const found = await storedSeqs(client, fromMs, upTo);
      const seen = new Set(found);
      duplicateLines += found.length - seen.size;
      const expectedSeqs = new Set(expected.flatMap((b) => Array.from({ length: LINES_PER_BATCH }, (_, i) => b.firstSeq + i)));
      for (const seq of expectedSeqs) {
        if (seen.has(seq)) foundLines++;
        else missingLines++;
      }
      for (const seq of seen) if (!expectedSeqs.has(seq)) unacknowledgedFound++;
      acked[client] = acked[client].filter((b) => b.ts >= upTo);
    }
    verifiedUpTo = upTo;
  }
  /** Up to where every batch has its answer, and lines are old enough to have been committed by their ack. */
  const settledUpTo = () => Math.min(Date.now() - VERIFY_AFTER_MS, ...[...inFlight].map((b) => b.ts));
  async function verifier(): Promise<void> {
    while (Date.now() < endAt) {
      await sleep(VERIFY_EVERY_MS);
      await verifyUpTo(settledUpTo());
    }
  }

  const tail = await openRegexTail(port);
  const rssTimer = setInterval(() => rss.push({ atS: Math.round((Date.now() - started) / 1000), bytes: aggregator.rssBytes() }), RSS_EVERY_MS);
  await Promise.all([...Array.from({ length: CLIENTS }, (_, c) => sender(c)), reader(), verifier(), bomber.run(endAt), flooder.run(endAt)]);
  clearInterval(rssTimer);
  rss.push({ atS: Math.round((Date.now() - started) / 1000), bytes: aggregator.rssBytes() });
  await verifyUpTo(Math.min(...[Date.now() + 1, ...[...inFlight].map((b) => b.ts)]));

  tail.close();
  const metrics = (await send(false, port, 'GET', '/metrics')).body;
  const metric = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1] ?? NaN);
  const bytesAtEnd = dirBytes(dataDir);
  await aggregator.stop();

  say(`lines sent ${formatInt(sentLines)} (${formatInt(sentLines / LINES_PER_BATCH)} batches; ${formatInt(skippedBatches)} skipped with ${MAX_IN_FLIGHT} unanswered)`);
  say(`lines acknowledged ${formatInt(ackedLines)}; found ${formatInt(foundLines)}; missing ${formatInt(missingLines)}; found twice ${formatInt(duplicateLines)}; ` +
      `found though not acknowledged ${formatInt(unacknowledgedFound)}; acknowledged but pruned before they were checked ${formatInt(uncheckedLines)}`);
  say(`ingest answers (every attempt): ${ingestStatus.toString()}; ${formatInt(retriedBatches)} retries; latency p50 ${ms(ingestMs, 50)} p99 ${ms(ingestMs, 99)} max ${ms(ingestMs, 100)}`);
  say(`query answers: ${queryStatus.toString()}`);
  say(bomber.summary());
  say(flooder.summary());
  for (const [kind, values] of queryMs) say(`  ${kind.padEnd(11)} ${formatInt(values.length)} queries, p50 ${ms(values, 50)} p99 ${ms(values, 99)}`);
  say(
    `pruner: ${formatInt(metric('daylog_pruned_partitions_total'))} partitions and ${formatInt(metric('daylog_pruned_lines_total'))} lines dropped; ` +
      `${formatInt(metric('daylog_partitions'))} partitions, ${mb(bytesAtEnd)} on disk at the end`,
  );
  say(
    `regex tail (${TAIL_REGEX}): ${formatInt(tail.lines)} lines sent, ${formatInt(tail.notMatching)} of them not matching; ` +
      `told of ${formatInt(tail.skipped)} lines skipped untested, ${formatInt(tail.dropped)} dropped`,
  );
  const steady = rss.find((s) => s.atS >= STEADY_AFTER_S) ?? rss[0];
  const end = rss.at(-1)!;
  say(`aggregator RSS: ${rss.filter((s, i) => i === 0 || s.atS % 60 < 10 || s === end).map((s) => `${s.atS}s ${mb(s.bytes)}`).join(', ')}`);
  const growth = steady.bytes && end.bytes ? end.bytes / steady.bytes : NaN;
  const flat = growth <= RSS_FLAT_FACTOR;
  say(`RSS at start ${mb(rss[0].bytes)}, at ${steady.atS} s (steady state) ${mb(steady.bytes)}, at the end ${mb(end.bytes)}: ${growth.toFixed(2)}× (flat means ≤ ${RSS_FLAT_FACTOR}×): ${flat ? 'flat' : 'GREW'}`);
  const underLoad = percentile(rss.filter((sample) => sample.atS >= STEADY_AFTER_S && sample.bytes !== null).map((sample) => sample.bytes!), 50);
  const overIdle = rss[0].bytes ? underLoad / rss[0].bytes : NaN;
  const bounded = overIdle <= RSS_OVER_IDLE_FACTOR;
  say(`RSS under load ${mb(underLoad)} (median from ${STEADY_AFTER_S} s on) = ${overIdle.toFixed(2)}× idle (goal ≤ ${RSS_OVER_IDLE_FACTOR}×): ${bounded ? 'met' : 'NOT met'}`);
  const failures = [
    ...(missingLines > 0 ? [`${missingLines} acknowledged lines missing`] : []),
    ...(duplicateLines > 0 ? [`${duplicateLines} lines stored twice`] : []),
    ...(refusedBatches > 0 ? [`${refusedBatches} of the senders' batches refused (see the ingest answers)`] : []),
    ...(!flat ? ['the aggregator grew'] : []),
    ...(!bounded ? [`the aggregator held ${overIdle.toFixed(2)}× its idle RSS under load`] : []),
    ...bomber.wrong.map((wrong) => `a bomb was not refused with its 413: ${wrong}`),
    ...flooder.wrong.map((wrong) => `the label-set flood: ${wrong}`),
    ...(tail.lines === 0 || tail.notMatching > 0 ? [`the regex tail got ${tail.lines} lines, ${tail.notMatching} not matching`] : []),
  ];
  if (failures.length > 0) throw new Error(failures.join('; '));
  say(
    'soak passed: no acknowledged line missing, none twice, every bomb refused, the flood refused past the limit and the catalogue small, ' +
      `memory flat and within ${RSS_OVER_IDLE_FACTOR}× idle, the regex tail sent matching lines only`,
  );
}

runMain('soak', main);
