import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Browser, Page, Request } from 'playwright-core';
import { chromiumMissing, firstLineShown, launchChromium } from '../test/support/chromium';
import { AggregatorProcess } from './aggregator-process';
import { makeTempDir, runMain } from './bench-support';
import { HOST, send } from './http-client';
import { say } from './report';
import { SCENE_NAMESPACE, WEB_PODS, screenshotScene } from './screenshot-scene';

/** dist/bench/ → the repository's docs/screenshots, where the README finds them. */
const OUT_DIR = join(__dirname, '..', '..', 'docs', 'screenshots');
const VIEWPORT = { width: 1280, height: 800 };
const SEARCH = `/?namespace=${SCENE_NAMESPACE}&min_level=warn&q=orders&since=1h`;
/** The page has nothing left to load once no request has been open for this long (a live tail's never ends). */
const QUIET_MS = 500;
const SETTLE_DEADLINE_MS = 15_000;

async function sendScene(port: number): Promise<number> {
  let lines = 0;
  for (const batch of screenshotScene(Date.now())) {
    const answer = await send(false, port, 'POST', '/api/v1/logs', Buffer.from(JSON.stringify(batch)));
    const body = JSON.parse(answer.body) as { accepted?: number; rejected?: unknown[] };
    if (answer.status !== 200 || body.rejected?.length) throw new Error(`screenshots: the scene's lines were refused: ${answer.status} ${answer.body.slice(0, 300)}`);
    lines += body.accepted ?? 0;
  }
  return lines;
}

/** A line's cursor for its context view: a web pod's first nginx error of the outage, the calm before it above. */
async function errorCursor(port: number): Promise<string> {
  const answer = await send(false, port, 'GET', `/api/v1/logs?format=json&pod=${WEB_PODS[0]}&source=error.log&level=error`);
  const { lines } = JSON.parse(answer.body) as { lines: { cursor: string }[] };
  if (answer.status !== 200 || lines.length === 0) throw new Error(`screenshots: no error line to open the context of: ${answer.status} ${answer.body.slice(0, 300)}`);
  return lines[lines.length - 1].cursor;
}

/** What the page's own code reaches (this file is compiled for Node, without the DOM's types). */
interface ShownElement {
  scrollIntoView(options: { block: 'center' }): void;
}

/** A context view with its own line's details open, that line in the middle of the picture. */
async function openContextLine(page: Page): Promise<void> {
  const line = page.locator('[aria-current=true]');
  await line.locator('.expand').click();
  await line.getByTestId('details').waitFor();
  await line.evaluate((element) => (element as unknown as ShownElement).scrollIntoView({ block: 'center' }));
}

/**
 * Opens `path` in a light, UTC, 1280×800 context, waits for its lines and for its requests to end, does what
 * `prepare` asks of the page, and takes the view.
 */
async function shoot(browser: Browser, base: string, path: string, file: string, prepare?: (page: Page) => Promise<void>): Promise<void> {
  const context = await browser.newContext({ viewport: VIEWPORT, deviceScaleFactor: 1, colorScheme: 'light', timezoneId: 'UTC', locale: 'en-US' });
  try {
    const page: Page = await context.newPage();
    const open = new Set<Request>();
    let lastChange = Date.now();
    const track = (request: Request, opened: boolean) => {
      if (new URL(request.url()).pathname.startsWith('/api/v1/tail')) return;
      if (opened) open.add(request);
      else open.delete(request);
      lastChange = Date.now();
    };
    page.on('request', (request) => track(request, true));
    page.on('requestfinished', (request) => track(request, false));
    page.on('requestfailed', (request) => track(request, false));
    await page.goto(`${base}${path}`);
    await firstLineShown(page);
    const deadline = Date.now() + SETTLE_DEADLINE_MS;
    while (open.size > 0 || Date.now() - lastChange < QUIET_MS) {
      if (Date.now() > deadline) throw new Error(`screenshots: ${path} still had ${open.size} requests open after ${SETTLE_DEADLINE_MS} ms`);
      await sleep(50);
    }
    await prepare?.(page);
    await page.screenshot({ path: join(OUT_DIR, file), animations: 'disabled', caret: 'hide' });
    say(`screenshots: ${file} ← ${path.length > 80 ? `${path.slice(0, 80)}…` : path}`);
  } finally {
    await context.close();
  }
}

/** `npm run screenshots`: the README's pictures of the web view, from the real aggregator on a temp dir. */
async function main(): Promise<void> {
  const missing = chromiumMissing();
  if (missing) throw new Error(missing);
  const aggregator = await AggregatorProcess.start(makeTempDir('screenshots'));
  try {
    say(`screenshots: ${await sendScene(aggregator.port)} lines of the last hour sent`);
    mkdirSync(OUT_DIR, { recursive: true });
    const browser = await launchChromium();
    try {
      const base = `http://${HOST}:${aggregator.port}`;
      await shoot(browser, base, SEARCH, 'search.png');
      await shoot(browser, base, `/?context=${encodeURIComponent(await errorCursor(aggregator.port))}`, 'context.png', openContextLine);
    } finally {
      await browser.close();
    }
    await aggregator.stop();
  } catch (error) {
    aggregator.kill();
    throw error;
  }
}

runMain('screenshots', main);
