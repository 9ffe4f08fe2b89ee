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

/**
 * What the page's own code reaches (this file is compiled for Node, without the DOM's types). Functions given to the
 * page are sent as their source, so each names `globalThis` itself.
 */
interface PageGlobals {
  document: {
    querySelectorAll(selector: string): { length: number; [index: number]: { innerText: string } };
    activeElement: { getAttribute(name: string): string | null } | null;
    documentElement: { scrollWidth: number; scrollHeight: number };
    querySelector(selector: string): { checked: boolean } | null;
  };
  innerWidth: number;
  innerHeight: number;
  scrollY: number;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

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
  /** Every page the tests opened, whose requests the last test checks. */
  const everyPage: Watched[] = [];

  const send = (lines: object[], pod: string) =>
    t.http.post('/api/v1/logs').set('Authorization', `Bearer ${WRITER}`).send({ labels: { namespace: 'shop', pod, container: 'app' }, lines }).expect(200);

  /** A fresh browser context (its own storage), watched for dialogs, requests and CSP violations. */
  async function open(path: string): Promise<Watched> {
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    const watched: Watched = { page, dialogs: [], requests: [] };
    everyPage.push(watched);
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
    await page.getByRole('button', { name: 'Read', exact: true }).click();
  }

  const rows = (page: Page) => page.getByTestId('row').locator('.message').allInnerTexts();
  /** Waits until the lines shown are these (a view that merely has as many is not enough), else says what is shown. */
  async function rowsAre(page: Page, expected: string[]): Promise<void> {
    const shown = (messages: string[]) => {
      const found = (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid=row] .message');
      return found.length === messages.length && messages.every((message, i) => found[i].innerText === message);
    };
    await page.waitForFunction(shown, expected, { timeout: 10_000 }).catch(() => undefined);
    assert.deepEqual(await rows(page), expected);
  }
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
    const nginx = (i: number, status: number) => `10.0.0.${i} - - [05/Dec/2026:10:00:0${i} +0000] "GET /shop/${i} HTTP/1.1" ${status} 51 "-" "curl/8"`;
    await send(
      [
        { ts: at(1200), format: 'nginx-access', level: 'info', message: nginx(1, 200) },
        { ts: at(1201), format: 'nginx-access', level: 'error', message: nginx(2, 502) },
        { ts: at(1202), message: JSON.stringify({ msg: 'order placed', user: 'ann', order_id: 7, paid: true }) },
        { ts: at(1203), message: JSON.stringify({ msg: 'order failed', user: 'bob', order_id: 8, paid: false }), fields: { user: 'robert', tenant: 'acme' } },
      ],
      'fields-1',
    );
    await send(
      Array.from({ length: 24 }, (_, i) => ({ ts: at(1100 + i), level: LEVELS[i % 6], source: i % 2 ? 'stderr' : 'app.log', message: `levelled ${i} ${LEVELS[i % 6]}` })),
      'lvl-1',
    );
    await send(Array.from({ length: 11 }, (_, i) => ({ ts: new Date(clock.now() - 10 * MINUTE - i * 2 * 60 * MINUTE).toISOString(), message: `spread ${i}` })), 'spread-1');
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
    assert.deepEqual(await page.locator('[data-testid=row] .message mark').allInnerTexts(), Array(11).fill('line 12'), 'the searched text is marked');
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

  /** A signed-in page whose token the tab remembers, so that it can go from URL to URL. */
  async function signedIn(path: string, options: { viewport?: { width: number; height: number } } = {}): Promise<Watched> {
    const watched = await open(path);
    if (options.viewport) await watched.page.setViewportSize(options.viewport);
    await watched.page.getByTestId('token-form').waitFor();
    await watched.page.locator('input[name=token]').fill(READER);
    await watched.page.getByLabel('remember in this tab').check();
    await watched.page.getByRole('button', { name: 'Read', exact: true }).click();
    return watched;
  }

  const apiMessages = async (query: string): Promise<string[]> => {
    const answer = await t.http.get(`/api/v1/logs?${query}&format=json`).set('Authorization', `Bearer ${READER}`).expect(200);
    return (answer.body as { lines: { message: string }[] }).lines.map((line) => line.message);
  };
  const search = (page: Page) => new URL(page.url()).searchParams;

  it('opens the view each URL parameter names: the lines the API gives for the same parameters', async () => {
    const iso = (msAgo: number) => new Date(clock.now() - msAgo).toISOString();
    const queries = [
      'namespace=shop&pod=lvl-1',
      'pod=lvl-*&level=warn&level=fatal',
      'pod=lvl-1&min_level=error',
      'pod=lvl-1&source=stderr',
      'container=app&q=web+line+24',
      'pod=web-1&exclude=1',
      'pod=lvl-1&match=levelled+error',
      `pod=web-1&regex=${encodeURIComponent('line 1[0-5]$')}`,
      'pod=fields-1&field=status%3A502',
      'pod=fields-1&exclude_field=user%3Aann',
      'pod=spread-1&since=5h',
      `pod=spread-1&from=${encodeURIComponent(iso(5 * 60 * MINUTE))}&to=${encodeURIComponent(iso(60 * MINUTE))}`,
      'pod=lvl-1&direction=forward',
    ];
    const { page } = await signedIn('/?pod=web-1');
    await rowsShown(page, 100);
    for (const query of queries) {
      const expected = await apiMessages(query);
      assert.ok(expected.length > 0, `${query} finds lines`);
      await page.goto(`${base}/?${query}`);
      await rowsAre(page, expected);
      assert.equal(new URL(page.url()).search, `?${query}`, 'the URL is left as it was given');
    }
  });

  it('filters by level chips and a minimum level, each change in the URL and asked of the server', async () => {
    const { page, requests } = await signedIn('/?pod=lvl-1');
    await rowsShown(page, 24);
    await page.getByRole('button', { name: 'error', exact: true }).click();
    await rowsShown(page, 4);
    assert.deepEqual(search(page).getAll('level'), ['error']);
    await page.getByRole('button', { name: 'fatal', exact: true }).click();
    await rowsAre(page, await apiMessages('pod=lvl-1&level=error&level=fatal'));
    await page.getByRole('button', { name: 'error', exact: true }).click();
    await page.getByRole('button', { name: 'fatal', exact: true }).click();
    await rowsShown(page, 24);
    await page.getByLabel('Minimum level').selectOption('warn');
    await rowsShown(page, 12);
    assert.equal(search(page).get('min_level'), 'warn');
    assert.ok(requests.some((url) => url.includes('/api/v1/logs?') && url.includes('min_level=warn')), 'the filter went to the server');
    await page.getByRole('button', { name: 'min_level: warn ×' }).click();
    await rowsShown(page, 24);
    assert.equal(search(page).get('min_level'), null);
  });

  it('sets the time by presets, an absolute range and a jump to a time', async () => {
    const { page } = await signedIn('/?pod=spread-1');
    await rowsShown(page, 11);
    await page.getByRole('button', { name: '6h', exact: true }).click();
    await rowsShown(page, 3);
    assert.equal(search(page).get('since'), '6h');
    await page.getByLabel('UTC').check();
    const utcInput = (msAgo: number) => new Date(clock.now() - msAgo).toISOString().slice(0, 19);
    await page.getByLabel('From', { exact: true }).fill(utcInput(9 * 60 * MINUTE));
    await page.getByLabel('To', { exact: true }).fill(utcInput(3 * 60 * MINUTE));
    await page.getByRole('button', { name: 'Apply' }).click();
    await rowsAre(page, ['spread 2', 'spread 3', 'spread 4']);
    assert.equal(search(page).get('since'), null);
    assert.equal(search(page).get('from'), `${utcInput(9 * 60 * MINUTE)}.000Z`);
    await page.getByLabel('Jump to').fill(utcInput(5 * 60 * MINUTE));
    await page.getByRole('button', { name: 'Jump' }).click();
    await rowsAre(page, ['spread 3', 'spread 4']);
    assert.equal(search(page).get('to'), `${utcInput(5 * 60 * MINUTE)}.000Z`);
    await page.getByRole('button', { name: 'all', exact: true }).click();
    await rowsShown(page, 11);
  });

  it('draws the counts over time, stacked by level or by pod, and zooms to the bars clicked or dragged across', async () => {
    const { page, requests } = await signedIn('/?pod=spread-1&direction=forward');
    const counts = (await t.http.get('/api/v1/stats?pod=spread-1&format=json').set('Authorization', `Bearer ${READER}`).expect(200)).body as {
      step: string;
      buckets: { start: string; total: number }[];
    };
    await page.waitForFunction((n) => (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid=bar]').length === n, counts.buckets.length);
    assert.ok(requests.some((url) => url.includes('/api/v1/stats?') && !url.includes('direction')), 'the counts are asked without the order of the lines');
    const full = page.locator('[data-testid=bar]:not([data-total="0"])');
    assert.equal(await full.count(), 11);
    assert.equal(await page.locator('[data-testid=bar] .bar-info').count(), 11);
    const stepMs = Number(/^(\d+)m$/.exec(counts.step)![1]) * MINUTE;
    // Oldest first: bar 0 holds "spread 10", bar 7 "spread 3", bar 9 "spread 1".
    const from = await full.nth(7).getAttribute('data-start');
    const last = await full.nth(9).getAttribute('data-start');
    const centre = async (index: number) => {
      const box = (await full.nth(index).boundingBox())!;
      return { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    };
    const start = await centre(7);
    const end = await centre(9);
    await page.mouse.move(start.x, start.y);
    await page.mouse.down();
    await page.mouse.move(end.x, end.y, { steps: 5 });
    await page.mouse.up();
    await rowsAre(page, ['spread 3', 'spread 2', 'spread 1']);
    assert.equal(search(page).get('from'), from);
    assert.equal(search(page).get('to'), new Date(Date.parse(last!) + stepMs).toISOString());
    const zoomed = page.locator('[data-testid=bar]:not([data-total="0"])');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid=bar]:not([data-total="0"])').length === 3);
    await zoomed.nth(1).click();
    await rowsAre(page, ['spread 2']);
    await page.goBack();
    await rowsShown(page, 3);
    await page.getByLabel('Stack by').selectOption('pod');
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid=bar] .series-0').length === 3);
    assert.deepEqual(await page.getByLabel('Histogram legend').locator('li').allInnerTexts(), ['spread-1']);
    assert.ok(requests.some((url) => url.includes('/api/v1/stats?') && url.includes('by=pod')));
    assert.equal(await page.evaluate('window.__violations'), undefined, 'nothing the page draws breaks its policy');
  });

  it('follows the filters live through the tail stream: lines arrive, pause holds them, resume shows them, the view keeps a bounded number', async () => {
    const at = (i: number) => new Date(clock.now() - MINUTE + i).toISOString();
    await send([0, 1, 2].map((i) => ({ ts: at(i), message: `live ${i}` })), 'live-1');
    const { page, requests } = await signedIn('/?pod=live-1');
    await rowsShown(page, 3);
    await page.getByRole('button', { name: 'Follow live' }).click();
    await page.getByTestId('live').waitFor();
    assert.equal(search(page).get('live'), '1');
    await rowsAre(page, ['live 0', 'live 1', 'live 2']);
    await send([3, 4].map((i) => ({ ts: at(i), message: `live ${i}` })), 'live-1');
    await send([{ ts: at(5), message: 'not followed' }], 'live-2');
    await rowsShown(page, 5);
    await page.getByRole('button', { name: 'Pause' }).click();
    await send([{ ts: at(6), message: 'live 6' }], 'live-1');
    await page.getByText('Paused: 1 new lines waiting').waitFor();
    assert.equal(await page.getByTestId('row').count(), 5);
    await page.getByRole('button', { name: 'Resume' }).click();
    await rowsAre(page, ['live 0', 'live 1', 'live 2', 'live 3', 'live 4', 'live 6']);
    await send(Array.from({ length: 2100 }, (_, i) => ({ ts: at(10 + i), message: `flood ${i}` })), 'live-1');
    await rowsShown(page, 2000);
    assert.equal(await page.getByTestId('left-out').innerText(), '106 older lines left the view, which keeps the newest 2000.');
    assert.equal((await rows(page)).at(-1), 'flood 2099');
    const atBottom = () =>
      page.evaluate(() => {
        const view = globalThis as unknown as PageGlobals;
        return view.scrollY + view.innerHeight >= view.document.documentElement.scrollHeight - 2;
      });
    await page.waitForFunction(() => {
      const view = globalThis as unknown as PageGlobals;
      return view.scrollY + view.innerHeight >= view.document.documentElement.scrollHeight - 2;
    });
    await page.mouse.move(600, 400);
    await page.mouse.wheel(0, -3000);
    await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('.live-controls input[type=checkbox]')!.checked);
    await send([{ ts: at(5000), message: 'after the reader scrolled up' }], 'live-1');
    await page.getByText('after the reader scrolled up').waitFor({ state: 'attached' });
    assert.equal(await atBottom(), false, 'no longer stuck to the bottom');
    const tails = requests.filter((url) => url.includes('/api/v1/tail?'));
    assert.equal(tails.length, 1, 'one stream, no polling');
    assert.match(tails[0], /pod=live-1.*format=ndjson/);
  });

  it('answers to keys: / searches, j and k choose a line, c opens its context, Esc goes back, ? shows the keys', async () => {
    const { page } = await signedIn('/?pod=web-1');
    await rowsShown(page, 100);
    await page.keyboard.press('/');
    assert.equal(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.activeElement?.getAttribute('name')), 'q');
    await page.keyboard.type('line 13');
    await page.keyboard.press('Enter');
    await rowsShown(page, 11);
    await page.keyboard.press('Escape');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.locator('[aria-selected=true] .message').filter({ hasText: /^web line 138$/ }).waitFor();
    assert.equal(await page.locator('[aria-selected=true]').count(), 1);
    await page.keyboard.press('Enter');
    await page.getByTestId('details').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('details').waitFor({ state: 'detached' });
    await page.keyboard.press('c');
    await page.getByTestId('context').waitFor();
    await rowsShown(page, 41);
    assert.equal(await page.locator('[aria-current=true] .message').innerText(), 'web line 138');
    await page.keyboard.press('Escape');
    await rowsShown(page, 11);
    assert.equal(new URL(page.url()).search, '?pod=web-1&q=line+13');
    await page.keyboard.press('?');
    await page.getByTestId('help').waitFor();
    await page.keyboard.press('Escape');
    await page.getByTestId('help').waitFor({ state: 'detached' });
  });

  it("renders ANSI colours (switched off on demand), wraps or not, shows UTC, and copies a line as it is shown", async () => {
    const { page } = await signedIn('/?pod=evil-1&direction=forward');
    await rowsShown(page, 5);
    const coloured = page.getByTestId('row').nth(3).locator('.message .fg1');
    assert.equal(await coloured.innerText(), 'red alert');
    await page.getByLabel('colours').uncheck();
    assert.equal(await coloured.count(), 0);
    assert.equal(await page.getByTestId('row').nth(3).locator('.message').innerText(), 'red alert done');
    await page.getByLabel('wrap').uncheck();
    assert.equal(await page.locator('.row.nowrap').count(), 5);
    await page.getByLabel('UTC').check();
    assert.match(await page.getByTestId('row').first().locator('time').innerText(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}Z$/);
    await page.reload();
    await rowsShown(page, 5);
    assert.equal(await page.locator('.row.nowrap').count(), 5, "the reader's switches outlive a reload");
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    await page.getByTestId('row').nth(4).getByRole('button', { name: '+' }).click();
    await page.getByRole('button', { name: 'Copy line' }).click();
    await page.getByRole('button', { name: 'Copied' }).waitFor();
    assert.equal(await page.evaluate('navigator.clipboard.readText()'), 'user ⟨U+202E⟩evil.exe⟨U+202C⟩ name');
  });

  it('picks label values from their counts, fits a phone-sized window, and goes dark with the system', async () => {
    const { page } = await signedIn('/?namespace=shop&since=2h', { viewport: { width: 390, height: 844 } });
    await rowsShown(page, 100);
    await page.getByTestId('picker-pod').locator('summary').click();
    const spread = page.getByTestId('picker-pod').getByRole('checkbox', { name: /^spread-1/ });
    await spread.waitFor();
    assert.match(await page.getByTestId('picker-pod').locator('li').filter({ hasText: 'lvl-1' }).innerText(), /lvl-1\s+24/);
    await spread.check();
    await rowsShown(page, 1);
    assert.equal(search(page).get('pod'), 'spread-1');
    await page.getByLabel('pod pattern').fill('lvl-*');
    await page.getByRole('button', { name: 'Add' }).click();
    await rowsShown(page, 25);
    assert.deepEqual(search(page).getAll('pod'), ['spread-1', 'lvl-*']);
    assert.ok(await page.evaluate(() => (globalThis as unknown as PageGlobals).document.documentElement.scrollWidth <= (globalThis as unknown as PageGlobals).innerWidth), 'nothing sticks out sideways');
    const background = () => page.evaluate("getComputedStyle(document.body).backgroundColor");
    await page.emulateMedia({ colorScheme: 'light' });
    assert.equal(await background(), 'rgb(255, 255, 255)');
    await page.emulateMedia({ colorScheme: 'dark' });
    assert.equal(await background(), 'rgb(20, 20, 24)', "dark when the system is");
  });

  it("says in the histogram's place why the server refused the counts, and shows the lines all the same", async () => {
    const small = await startTestApp({ clock, env: { DAYLOG_QUERY_MAX_SCANNED_LINES: '50' } });
    try {
      await small.app.listen({ port: 0, host: '127.0.0.1' });
      const lines = Array.from({ length: 120 }, (_, i) => ({ ts: new Date(clock.now() - 30 * MINUTE + i * 1000).toISOString(), message: `many ${i}` }));
      await small.http.post('/api/v1/logs').send({ labels: { namespace: 'shop', pod: 'many', container: 'app' }, lines }).expect(200);
      const refusal = await small.http.get('/api/v1/stats?q=many&format=json');
      assert.equal(refusal.status, 400, 'the server finds this count too dear');
      const context = await browser.newContext();
      contexts.push(context);
      const page = await context.newPage();
      await page.goto(`${await small.app.getUrl()}/?q=many`);
      await page.getByTestId('histogram-note').waitFor();
      assert.equal(await page.getByTestId('histogram-note').innerText(), `No histogram for this view: ${(refusal.body as { error: string }).error}`);
      await page.getByTestId('row').first().waitFor();
      assert.equal(await page.getByTestId('histogram').count(), 0);
    } finally {
      await small.close();
    }
  });

  it("shows the server's notices among live lines: lines a slow regex left untested", async () => {
    // About 40 times slower a character than `x` (test/tail.test.ts): over a second on one long line.
    const slow = `${'.{16}'.repeat(40)}x`;
    const opening = `${'d'.repeat(700)}x`;
    await send([{ ts: new Date(clock.now() - MINUTE).toISOString(), message: opening }], 'slow-1');
    const { page } = await signedIn(`/?pod=slow-1&regex=${encodeURIComponent(slow)}&live=1`);
    // Once the opening lines are shown, lines stored later reach the tail's own test.
    await rowsAre(page, [opening]);
    await send([{ ts: new Date(clock.now()).toISOString(), message: 'a'.repeat(60_000) }], 'slow-1');
    await send([{ ts: new Date(clock.now()).toISOString(), message: `${'c'.repeat(700)}x` }], 'slow-1');
    await page.getByTestId('notice').waitFor();
    assert.match(await page.getByTestId('notice').innerText(), /^1 lines skipped untested: this tail's regex took longer than its time for them$/);
    await rowsAre(page, [opening, `${'c'.repeat(700)}x`]);
  });

  it("shows a line's fields (its format's, those sent, a JSON message's keys), each with 'only this' and 'not this' that the server answers alike", async () => {
    const { page } = await signedIn('/?pod=fields-1');
    await rowsShown(page, 4);
    const all = await rows(page);
    for (let i = 0; i < all.length; i++) await page.getByTestId('row').nth(i).getByRole('button', { name: '+' }).click();
    await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid=details]').length === 4);
    const shown: string[][] = [];
    for (let i = 0; i < all.length; i++) {
      const fields = page.getByTestId('row').nth(i).getByTestId('field');
      shown.push(await Promise.all((await fields.all()).map(async (field) => (await field.getAttribute('data-field'))!)));
    }
    assert.deepEqual(shown[0], ['user:robert', 'tenant:acme', 'msg:order failed', 'order_id:8', 'paid:false'], "the line's own fields over its message's keys");
    assert.ok(shown[2].includes('status:502') && shown[2].includes('path:/shop/2'), `an nginx line's fields: ${shown[2].join(' ')}`);
    for (let i = 0; i < all.length; i++) {
      for (const condition of shown[i]) {
        const only = await apiMessages(`pod=fields-1&field=${encodeURIComponent(condition)}`);
        assert.ok(only.includes(all[i]), `field=${condition} finds the line it was shown on`);
        const not = await apiMessages(`pod=fields-1&exclude_field=${encodeURIComponent(condition)}`);
        assert.ok(!not.includes(all[i]), `exclude_field=${condition} leaves it out`);
      }
    }
    await page.getByTestId('row').nth(2).locator('[data-field="status:502"]').getByRole('button', { name: 'only this' }).click();
    await rowsAre(page, [all[2]]);
    assert.deepEqual(search(page).getAll('field'), ['status:502']);
    await page.getByRole('button', { name: 'field: status:502 ×' }).click();
    await rowsShown(page, 4);
    await page.getByTestId('row').nth(1).getByRole('button', { name: '+' }).click();
    await page.getByTestId('row').nth(1).locator('[data-field="user:ann"]').getByRole('button', { name: 'not this' }).click();
    await rowsAre(page, [all[0], all[2], all[3]]);
    assert.deepEqual(search(page).getAll('exclude_field'), ['user:ann']);
  });

  it('asked nothing of another origin, in any of the tests above', () => {
    const requests = everyPage.flatMap((watched) => watched.requests);
    assert.ok(requests.length > 0, "the pages asked for things");
    assert.deepEqual(requests.filter((url) => !url.startsWith(base) && !url.startsWith('data:')), []);
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
