import { existsSync } from 'node:fs';
import { Browser, Page, chromium } from 'playwright-core';

/** Debian's chromium, which .ci/run installs (`apt-get install chromium`); DAYLOG_CHROMIUM names another. */
export const CHROMIUM = process.env.DAYLOG_CHROMIUM ?? '/usr/bin/chromium';

/** Why chromium cannot be used here, or null when it is there. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM) ? null : `${CHROMIUM} is not installed: .ci/run installs it (apt-get install chromium), DAYLOG_CHROMIUM names another`;
}

/**
 * The environment chromium runs in: this process's, without libfaketime (npm run test:clock-ahead), which every
 * chromium process would inherit and which slowed each web view test some fortyfold (1.5 s to 70 s). The browser's
 * clock is not the service's: the page reads no clock of its own, only the times the API gives.
 */
function browserEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) if (value !== undefined && name !== 'LD_PRELOAD' && !name.startsWith('FAKETIME')) env[name] = value;
  return env;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--disable-dev-shm-usage', '--disable-gpu'], env: browserEnv() });
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
