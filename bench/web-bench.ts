import http from 'node:http';
import { Browser, Page, Request } from 'playwright-core';
import { chromiumMissing, firstLineShown, launchChromium } from '../test/support/chromium';
import { median, nowMs, percentile } from './bench-support';
import { HOST, send } from './http-client';
import { AddFigure, formatInt, say } from './report';

/** The web view's page of a day's lines: what `/` shows, the retention being 24 h. */
const PAGE_PATH = '/?since=24h';
/** The goal: the first lines on screen within twice the API's time for the same lines, plus 200 ms. */
const GOAL_FACTOR = 2;
const GOAL_SLACK_MS = 200;

export type WebOutcome =
  | {
      skipped: null;
      /** From `page.goto` to the first line on screen, each in a fresh browser context (a cold cache). */
      firstLinesMs: number[];
      /** From `page.goto` to the page's request for its lines: what the page's own files cost before it asks. */
      askedMs: number[];
      /** The request the page made for its lines, and its time over HTTP, taking turns with the page loads. */
      apiPath: string;
      apiMs: number[];
      /** Bytes of the page's own files as sent (compressed), their headers left out, and how they were encoded. */
      pageBytes: number;
      pageFiles: string[];
    }
  | { skipped: string };

interface PageLoad {
  ms: number;
  askedMs: number;
  apiPath: string;
  bytes: number;
  files: string[];
}

const isApi = (request: Request) => new URL(request.url()).pathname.startsWith('/api/');

/** What the page's own files weighed on the wire: every answer but the API's (and a favicon's 404). */
async function pageFiles(requests: readonly Request[]): Promise<{ bytes: number; files: string[] }> {
  let bytes = 0;
  const files: string[] = [];
  for (const request of requests) {
    const response = await request.response();
    if (isApi(request) || !response?.ok()) continue;
    const url = new URL(request.url());
    const sizes = await request.sizes();
    const encoding = response.headers()['content-encoding'] ?? 'identity';
    bytes += sizes.responseBodySize;
    files.push(`${url.pathname} ${formatInt(sizes.responseBodySize)} B ${encoding}`);
  }
  return { bytes, files: files.sort() };
}

/** One cold load of the page: a fresh context, timed from `goto` to the first line painted. */
async function loadPage(browser: Browser, base: string): Promise<PageLoad> {
  const context = await browser.newContext();
  try {
    const page: Page = await context.newPage();
    const finished: Request[] = [];
    page.on('requestfinished', (request) => finished.push(request));
    let askedMs = 0;
    const started = nowMs();
    const apiRequest = page.waitForRequest((request) => {
      const asked = new URL(request.url()).pathname === '/api/v1/logs';
      if (asked) askedMs = nowMs() - started;
      return asked;
    });
    await page.goto(`${base}${PAGE_PATH}`, { waitUntil: 'commit' });
    await firstLineShown(page);
    const ms = nowMs() - started;
    await page.waitForLoadState('load');
    const url = new URL((await apiRequest).url());
    return { ms, askedMs, apiPath: `${url.pathname}${url.search}`, ...(await pageFiles(finished)) };
  } finally {
    await context.close();
  }
}

async function timedGet(agent: http.Agent, port: number, path: string): Promise<number> {
  const started = nowMs();
  const answer = await send(agent, port, 'GET', path);
  const ms = nowMs() - started;
  if (answer.status !== 200) throw new Error(`web bench: GET ${path} answered ${answer.status}: ${answer.body.slice(0, 300)}`);
  return ms;
}

/**
 * The web view in Debian's chromium against the bench's aggregator (reads open): a warm-up load, then `runs` cold
 * loads, each followed by the request the page made for its lines, sent over HTTP on one keep-alive connection.
 * Without chromium the figures are skipped, saying why.
 */
export async function webBench(port: number, runs: number): Promise<WebOutcome> {
  const missing = chromiumMissing();
  if (missing) return { skipped: missing };
  let browser: Browser;
  try {
    browser = await launchChromium();
  } catch (error) {
    return { skipped: `chromium did not start: ${(error as Error).message.split('\n')[0]}` };
  }
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const base = `http://${HOST}:${port}`;
    const warmUp = await loadPage(browser, base);
    await timedGet(agent, port, warmUp.apiPath);
    const firstLinesMs: number[] = [];
    const askedMs: number[] = [];
    const apiMs: number[] = [];
    for (let i = 0; i < runs; i++) {
      const load = await loadPage(browser, base);
      firstLinesMs.push(load.ms);
      askedMs.push(load.askedMs);
      apiMs.push(await timedGet(agent, port, load.apiPath));
    }
    return { skipped: null, firstLinesMs, askedMs, apiPath: warmUp.apiPath, apiMs, pageBytes: warmUp.bytes, pageFiles: warmUp.files };
  } finally {
    agent.destroy();
    await browser.close();
  }
}

/** The web view's lines, next to the summary's others, and its figures. */
export function reportWeb(web: WebOutcome, figure: AddFigure): void {
  if (web.skipped !== null) {
    say(`web.first_lines_ms skipped: ${web.skipped}`);
    return;
  }
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const [page50, page90] = [median(web.firstLinesMs), percentile(web.firstLinesMs, 90)];
  const [api50, api90] = [median(web.apiMs), percentile(web.apiMs, 90)];
  const goalMs = GOAL_FACTOR * api50 + GOAL_SLACK_MS;
  say(
    `web.first_lines_ms ${PAGE_PATH} in chromium, goto to the first line painted, a fresh context each (${web.firstLinesMs.length} runs): ` +
      `p50 ${ms(page50)} p90 ${ms(page90)} | the page's ${web.apiPath} p50 ${ms(api50)} p90 ${ms(api90)}   ` +
      `goal ≤ ${GOAL_FACTOR}× + ${GOAL_SLACK_MS} ms = ${ms(goalMs)}: ${page50 <= goalMs ? 'met' : 'NOT met'}`,
  );
  say(`    the page asked for its lines ${ms(median(web.askedMs))} after goto (p50): its files, then its script's start`);
  say(`web.page_bytes ${formatInt(web.pageBytes)} B as sent on a cold load: ${web.pageFiles.join(', ')}`);
  figure('web.first_lines_ms', page50, 'ms', api50, 1);
  figure('web.first_lines_ms.p90', page90, 'ms', api90, 1);
  figure('web.page_bytes', web.pageBytes, 'B', undefined, 0);
}
