import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import semver from 'semver';
import { REPO, imageCommand } from './support/image-command';

const run = promisify(execFile);
const packageJson = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

/** The oldest Node the README promises. */
const OLDEST_NODE = '20.11.0';

describe("a fresh clone's set-up", () => {
  it('gives npm no project setting it does not know (npm warns on every command for one)', async () => {
    const { stderr } = await run('npm', ['pkg', 'get', 'name'], { cwd: REPO });
    assert.equal(stderr, '');
  });

  it("tells better-sqlite3's installer to build from source, never to download a binary", () => {
    const packageDir = join(REPO, 'node_modules/better-sqlite3');
    // prebuild-install reads its settings from where npm runs it: the package's own directory.
    const load = createRequire(__filename);
    const readSettings = load(join(REPO, 'node_modules/prebuild-install/rc')) as (pkg: object) => { buildFromSource: unknown };
    const cwd = process.cwd();
    process.chdir(packageDir);
    try {
      assert.ok(readSettings(load(join(packageDir, 'package.json')) as object).buildFromSource);
    } finally {
      process.chdir(cwd);
    }
  });

  it(`runs only on packages that support Node ${OLDEST_NODE}`, async () => {
    const { stdout } = await run('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
    const refusing = stdout
      .split('\n')
      .filter((dir) => dir.includes('node_modules'))
      .map((dir) => JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; version: string; engines?: { node?: string } })
      .filter((pkg) => pkg.engines?.node && !semver.satisfies(OLDEST_NODE, pkg.engines.node))
      .map((pkg) => `${pkg.name}@${pkg.version} (node ${pkg.engines!.node})`);
    assert.deepEqual(refusing, []);
  });

  it("starts the aggregator as the image does: npm start runs the aggregator stage's command", () => {
    const [program, args] = imageCommand('aggregator');
    assert.equal(packageJson.scripts.start, [program, ...args].join(' '));
  });

  it('builds only the shipper for npm run start:shipper, not the aggregator', async () => {
    assert.equal(packageJson.scripts['prestart:shipper'], 'nest build shipper');
    const nestCli = JSON.parse(readFileSync(join(REPO, 'nest-cli.json'), 'utf8')) as { projects: Record<string, { compilerOptions?: { tsConfigPath?: string } }> };
    const tsconfig = nestCli.projects.shipper.compilerOptions?.tsConfigPath;
    assert.ok(tsconfig, 'the shipper project has a tsconfig of its own');
    const { stdout } = await run(process.execPath, [join(REPO, 'node_modules/typescript/bin/tsc'), '-p', tsconfig, '--listFilesOnly'], { cwd: REPO });
    const compiled = stdout.split('\n').filter((file) => file.startsWith(REPO) && !file.includes('node_modules'));
    assert.ok(compiled.some((file) => file.endsWith('apps/shipper/src/main.ts')));
    assert.deepEqual(compiled.filter((file) => /\/(apps\/aggregator|libs\/storage|test|bench)\//.test(file)), []);
  });
});
