import { existsSync } from 'node:fs';
import { Browser, Page, chromium } from 'playwright-core';

/** Debian's chromium, which .ci/run installs (`apt-get install chromium`); DAYLOG_CHROMIUM names another. */
export const CHROMIUM = process.env.DAYLOG_CHROMIUM ?? '/usr/bin/chromium';

/** Why chromium cannot be used here, or null when it is there. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed: .ci/run installs it (apt-get install chromium), DAYLOG_CHROMIUM names another`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--disable-dev-shm-usage', '--disable-gpu'] });
}

/** What the page's own code reaches (these files are compiled for Node, without the DOM's types). */
interface PageGlobals {
  document: { querySelector(selector: string): object | null };
}

/**
 * Resolves once the page shows a line, checked at each frame the page paints. A function, not text: Playwright
 * evaluates text with eval, which the page's policy forbids, as it should.
 */
export async function firstLineShown(page: Page): Promise<void> {
  await page.waitForFunction(() => (globalThis as unknown as PageGlobals).document.querySelector('[data-testid=row]') !== null, undefined, { polling: 'raf' });
}
