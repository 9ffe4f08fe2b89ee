// The web view's assets, built into dist/web by `npm run build`: one script and one stylesheet under hashed names
// (served as immutable), the page that names them (never cached), and gzip and brotli copies of each.
import { build } from 'esbuild';
import console from 'node:console';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, '..', '..', 'dist', 'web');
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'src', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2022',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  entryNames: 'assets/[name]-[hash]',
  outdir: out,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const built = Object.keys(result.metafile.outputs).map((file) => `/${relative(out, file)}`);
const asset = (extension) => {
  const found = built.find((file) => file.endsWith(extension));
  if (!found) throw new Error(`the web build made no ${extension} file`);
  return found;
};
const page = readFileSync(join(here, 'index.html'), 'utf8').replace('SCRIPT', asset('.js')).replace('STYLE', asset('.css'));
writeFileSync(join(out, 'index.html'), page);

function* files(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* files(path);
    else yield path;
  }
}
let bytes = 0;
for (const file of [...files(out)]) {
  const content = readFileSync(file);
  const gzipped = gzipSync(content, { level: 9 });
  writeFileSync(`${file}.gz`, gzipped);
  writeFileSync(`${file}.br`, brotliCompressSync(content, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }));
  bytes += gzipped.length;
}
console.log(`web view: ${built.map((file) => basename(file)).join(', ')}, index.html; ${(bytes / 1024).toFixed(1)} KB gzipped`);
