import fastifyStatic from '@fastify/static';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

/** Where `npm run build` puts the web view (apps/web/build.mjs), beside the aggregator's compiled code. */
export const WEB_VIEW_DIR = join(__dirname, '..', '..', '..', '..', 'web');

/**
 * The page's rules for what it may load and run: its own scripts and styles only, nothing inline, requests to its
 * own origin only, and Trusted Types required, so that no code of the page can turn a log line into markup.
 */
export const WEB_VIEW_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ');

/**
 * The web view at `/`: the built page and its hashed assets, one route each (no catch-all beside the API's 404s),
 * their gzip or brotli copies as the browser takes them. The page is never cached; the assets, whose names change
 * with their content, for a year.
 */
export async function registerWebView(app: NestFastifyApplication): Promise<void> {
  if (!existsSync(join(WEB_VIEW_DIR, 'index.html'))) throw new Error(`the web view is not built (${WEB_VIEW_DIR}): run npm run build`);
  await app.register(fastifyStatic, {
    root: WEB_VIEW_DIR,
    prefix: '/',
    wildcard: false,
    preCompressed: true,
    // A page loaded through a redirect or an index of directories: neither is the view's.
    redirect: false,
    list: false,
    // `path` is the file sent: the page's .br or .gz copy as often as the page itself.
    setHeaders: (reply, path) => {
      if (/\.html(\.br|\.gz)?$/.test(path)) {
        reply.header('Cache-Control', 'no-cache');
        reply.header('Content-Security-Policy', WEB_VIEW_CSP);
        reply.header('Referrer-Policy', 'no-referrer');
        reply.header('Cross-Origin-Opener-Policy', 'same-origin');
      } else {
        reply.header('Cache-Control', 'public, max-age=31536000, immutable');
      }
    },
  });
}
