import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Browser, BrowserContext, Page } from 'playwright-core';
import { launchChromium } from './support/chromium';
import { MINUTE, ManualClock, TestApp, startTestApp } from './support/test-app';

const READER = 'web-view-reader-0123456789';
const WRITER = 'web-view-writer-0123456789';

/** Lines that would run code, open links or reorder text if the page treated them as anything but text. */
const HOSTILE = [
  '<script>window.__pwned = "script"</script>',
  '<img src=x onerror="window.__pwned = \'img\'">',
  '<a href="javascript:window.__pwned=\'link\'">click me</a>',
  '\u001b[31mred alert\u001b[0m \u001b]0;new title\u0007done',
  'user \u202eevil.exe\u202c name',
];

/** What the page's own code reaches (this file is compiled for Node, without the DOM's types). */
interface PageGlobals {
  document: { querySelectorAll(selector: string): { length: number } };
}

interface Watched {
  page: Page;
  dialogs: string[];
  /** Every URL the page asked for. */
  requests: string[];
}

describe('the web view at /, in a real browser (Debian chromium)', () => {
  let browser: Browser;
  let t: TestApp;
  let base: string;
  const clock = new ManualClock();
  const contexts: BrowserContext[] = [];

  const send = (lines: object[], pod: string) =>
    t.http.post('/api/v1/logs').set('Authorization', `Bearer ${WRITER}`).send({ labels: { namespace: 'shop', pod, container: 'app' }, lines }).expect(200);

  /** A fresh browser context (its own storage), watched for dialogs, requests and CSP violations. */
  async function open(path: string): Promise<Watched> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const watched: Watched = { page, dialogs: [], requests: [] };
    page.on('dialog', (dialog) => {
      watched.dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('request', (request) => watched.requests.push(request.url()));
    // Page code as text: this file is compiled for Node, without the DOM's types; an init script is not eval.
    await page.addInitScript("document.addEventListener('securitypolicyviolation', (event) => (window.__violations ??= []).push(event.violatedDirective))");
    await page.goto(`${base}${path}`);
    return watched;
  }

  async function signIn(page: Page): Promise<void> {
    await page.getByTestId('token-form').waitFor();
    await page.locator('input[name=token]').fill(READER);
    await page.getByRole('button', { name: 'Read' }).click();
  }

  const rows = (page: Page) => page.getByTestId('row').locator('.message').allInnerTexts();
  // A function, not text: Playwright evaluates text with eval, which the page's policy forbids, as it should.
  const rowsShown = (page: Page, count: number) =>
    page.waitForFunction((n) => (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid=row]').length === n, count);

  before(async () => {
    browser = await launchChromium();
    t = await startTestApp({ clock, env: { DAYLOG_READ_TOKENS: READER, DAYLOG_INGEST_TOKENS: WRITER } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = await t.app.getUrl();
    const at = (i: number) => new Date(clock.now() - 60 * MINUTE + i * 1000).toISOString();
    await send(Array.from({ length: 250 }, (_, i) => ({ ts: at(i), message: `web line ${i}` })), 'web-1');
    await send(HOSTILE.map((message, i) => ({ ts: at(1000 + i), message })), 'evil-1');
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await browser?.close();
    await t?.close();
  });

  it("asks for the read token, keeps it out of the URL and the tab's storage, and shows a URL's filters: ?pod=web-1", async () => {
    const { page, requests } = await open('/?pod=web-1');
    await signIn(page);
    await page.getByTestId('row').first().waitFor();
    const shown = await rows(page);
    assert.deepEqual(shown, Array.from({ length: 100 }, (_, i) => `web line ${249 - i}`));
    assert.ok(requests.every((url) => !url.includes(READER)), 'the token is in no URL');
    assert.equal(await page.evaluate('sessionStorage.length'), 0);
    assert.ok(requests.every((url) => url.startsWith(base)), `a request to another origin: ${requests.join(' ')}`);
  });

  it('pages to older lines with no gap and no repeat', async () => {
    const { page } = await open('/?pod=web-1');
    await signIn(page);
    await page.getByTestId('row').first().waitFor();
    await page.getByRole('button', { name: 'Older' }).click();
    await rowsShown(page, 200);
    await page.getByRole('button', { name: 'Older' }).click();
    await rowsShown(page, 250);
    assert.deepEqual(await rows(page), Array.from({ length: 250 }, (_, i) => `web line ${249 - i}`));
    assert.equal(await page.getByRole('button', { name: 'Older' }).count(), 0);
  });

  it('searches by typing: the filter goes to the server and into the URL, and back returns', async () => {
    const { page } = await open('/?pod=web-1');
    await signIn(page);
    await page.getByTestId('row').first().waitFor();
    await page.getByRole('searchbox', { name: 'Search' }).fill('line 12');
    await page.keyboard.press('Enter');
    await rowsShown(page, 11);
    assert.equal(new URL(page.url()).search, '?pod=web-1&q=line+12');
    assert.deepEqual(await rows(page), ['web line 129', 'web line 128', 'web line 127', 'web line 126', 'web line 125', 'web line 124', 'web line 123', 'web line 122', 'web line 121', 'web line 120', 'web line 12']);
    await page.goBack();
    await rowsShown(page, 100);
    assert.equal(new URL(page.url()).search, '?pod=web-1');
  });

  it('opens the lines around a line, with more before and after, at a link of its own anyone with access can open', async () => {
    const { page } = await open('/?pod=web-1&q=line+12');
    await signIn(page);
    await rowsShown(page, 11);
    await page.getByTestId('row').filter({ hasText: 'web line 125' }).getByRole('link', { name: 'context' }).click();
    await page.getByTestId('context').waitFor();
    await rowsShown(page, 41);
    const around = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => `web line ${from + i}`);
    assert.deepEqual(await rows(page), around(105, 145));
    assert.equal(await page.locator('[aria-current=true] .message').innerText(), 'web line 125');
    await page.getByRole('button', { name: 'More before' }).click();
    await rowsShown(page, 61);
    assert.deepEqual(await rows(page), around(85, 145));
    const link = page.url();
    assert.match(new URL(link).search, /^\?pod=web-1&q=line\+12&context=/);
    const other = await open(new URL(link).pathname + new URL(link).search);
    await signIn(other.page);
    await rowsShown(other.page, 41);
    assert.deepEqual(await rows(other.page), around(105, 145));
    await page.getByRole('button', { name: 'Back to the lines' }).click();
    await rowsShown(page, 11);
    assert.equal(new URL(page.url()).search, '?pod=web-1&q=line+12');
  });

  it('shows hostile lines as text: no script, handler or link runs, escapes go, bidi overrides show as marks', async () => {
    const { page, dialogs } = await open('/?pod=evil-1&direction=forward');
    await signIn(page);
    await rowsShown(page, 5);
    assert.deepEqual(await rows(page), [
      HOSTILE[0],
      HOSTILE[1],
      HOSTILE[2],
      'red alert done',
      'user ⟨U+202E⟩evil.exe⟨U+202C⟩ name',
    ]);
    await page.getByTestId('row').nth(2).click();
    assert.equal(await page.locator('[data-testid=lines] a:not(.open), [data-testid=lines] img, [data-testid=lines] script').count(), 0);
    for (const href of await Promise.all((await page.locator('[data-testid=lines] a.open').all()).map((link) => link.getAttribute('href')))) {
      assert.match(href ?? '', /^\?context=/, "the only links are the page's own, to a line's context");
    }
    assert.equal(await page.evaluate('window.__pwned'), undefined);
    assert.equal(await page.evaluate('window.__violations'), undefined);
    assert.deepEqual(dialogs, []);
    assert.equal(await page.title(), 'Daylog');
  });

  it('serves the page with its strict policy, never cached, and its hashed assets immutable and compressed', async () => {
    const page = await t.http.get('/').set('Accept-Encoding', 'br, gzip');
    assert.equal(page.status, 200);
    assert.equal(page.headers['content-encoding'], 'br');
    assert.equal(page.headers['cache-control'], 'no-cache');
    assert.match(page.headers['content-security-policy'], /script-src 'self';.*require-trusted-types-for 'script'/);
    const script = /src="(\/assets\/main-[A-Z0-9]+\.js)"/.exec((await t.http.get('/').set('Accept-Encoding', 'identity')).text)?.[1];
    assert.ok(script, 'the page names its script');
    const asset = await t.http.get(script).set('Accept-Encoding', 'gzip');
    assert.equal(asset.status, 200);
    assert.equal(asset.headers['content-encoding'], 'gzip');
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(asset.headers['x-content-type-options'], 'nosniff');
  });
});
