import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Copy, DockerfileParser, Instruction } from 'dockerfile-ast';
import { validate } from 'dockerfile-utils';
import { PATH_WITH_THIS_NODE, REPO } from './support/image-command';
import { inheritedEnv } from './support/process-env';

const TEXT = readFileSync(join(REPO, 'Dockerfile'), 'utf8');
const DOCKERFILE = DockerfileParser.parse(TEXT);
const IGNORED = readFileSync(join(REPO, '.dockerignore'), 'utf8')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));

interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
  copies: Copy[];
}

/** The build stages in order, each with the instructions under its FROM. */
const STAGES: Stage[] = DOCKERFILE.getFROMs().map((from, i, froms) => {
  const start = from.getRange().start.line;
  const end = froms[i + 1]?.getRange().start.line ?? Infinity;
  const within = (ins: Instruction) => ins.getRange().start.line >= start && ins.getRange().start.line < end;
  return {
    name: from.getBuildStage() ?? '',
    base: from.getImage() ?? '',
    instructions: DOCKERFILE.getInstructions().filter(within),
    copies: DOCKERFILE.getCOPYs().filter(within),
  };
});

const stage = (name: string): Stage => {
  const found = STAGES.find((s) => s.name === name);
  assert.ok(found, `the Dockerfile has a stage named ${name}`);
  return found;
};

const args = (instruction: Instruction): string[] => instruction.getArguments().map((a) => a.getValue());
const keyword = (s: Stage, name: string): Instruction[] => s.instructions.filter((ins) => ins.getKeyword() === name);

/** A stage's settings as the image has them: its own and those of the stage it is built on. */
function inherited(s: Stage, name: string): Instruction[] {
  const parent = STAGES.find((other) => other.name === s.base);
  return [...(parent ? inherited(parent, name) : []), ...keyword(s, name)];
}

function jsonCommand(s: Stage): string[] {
  const [cmd] = inherited(s, 'CMD').slice(-1);
  return JSON.parse(cmd.getArgumentsContent() ?? '') as string[];
}

/** `.dockerignore` as Docker reads it for these patterns: a name excludes that path and everything under it; `*` within one name. */
function ignoredByDocker(path: string): boolean {
  return IGNORED.some((pattern) => {
    const regex = new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '[^/]*')}(/|$)`);
    return regex.test(path);
  });
}

/** Copies from the build context (the repository) as `COPY src... dest` does in WORKDIR `root`, minus what .dockerignore excludes. */
function copyFromContext(root: string, copy: Instruction): void {
  const [dest, ...sources] = args(copy).reverse();
  for (const source of sources.reverse()) {
    assert.ok(existsSync(join(REPO, source)), `COPY ${source}: no such file in the build context`);
    assert.ok(!ignoredByDocker(source), `COPY ${source}: excluded by .dockerignore`);
    const target = dest.endsWith('/') ? join(root, dest, basename(source)) : join(root, dest);
    cpSync(join(REPO, source), target, { recursive: true, filter: (path) => !ignoredByDocker(relative(REPO, path)) });
  }
}

describe('Dockerfile', () => {
  it("passes dockerfile-utils' validator (the checks of VS Code's Docker support) without a remark", () => {
    assert.deepEqual(validate(TEXT).map((d) => [d.range.start.line + 1, d.message]), []);
  });

  it('builds in one stage, runs on slim Node 20, and makes the aggregator the default target', () => {
    assert.deepEqual(
      STAGES.map((s) => [s.name, s.base]),
      [
        ['build', 'node:20-bookworm-slim'],
        ['runtime', 'node:20-bookworm-slim'],
        ['shipper', 'runtime'],
        ['aggregator', 'runtime'],
      ],
    );
    assert.ok(keyword(stage('build'), 'RUN').some((run) => args(run).join(' ').includes('npm ci')));
    assert.ok(!keyword(stage('runtime'), 'RUN').some((run) => /g\+\+|npm ci/.test(args(run).join(' '))), 'no compiler in the runtime');
  });

  it('runs both programs as the unprivileged node user, and health-checks the aggregator on /readyz', () => {
    for (const name of ['shipper', 'aggregator']) assert.deepEqual(args(inherited(stage(name), 'USER').at(-1)!), ['node'], name);
    const [healthcheck] = keyword(stage('aggregator'), 'HEALTHCHECK');
    assert.match(healthcheck.getArgumentsContent() ?? '', /\/readyz/);
  });

  it('keeps dependencies, data, tests and git out of the build context', () => {
    for (const path of ['node_modules', 'data', 'test', '.git', 'dist']) assert.ok(ignoredByDocker(path), path);
  });

  it('needs at run time only the packages it keeps after npm prune --omit=dev', () => {
    const { dependencies } = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const needed = new Set<string>();
    const scan = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) scan(path);
        else if (entry.name.endsWith('.js')) {
          for (const [, specifier] of readFileSync(path, 'utf8').matchAll(/require\("([^".][^"]*)"\)/g)) {
            if (!specifier.startsWith('node:')) needed.add(specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/'));
          }
        }
      }
    };
    for (const dir of ['apps', 'libs']) scan(join(REPO, 'dist', dir));
    assert.ok(needed.has('better-sqlite3'));
    assert.deepEqual([...needed].filter((name) => !(name in dependencies)), []);
  });
});

describe("the image's file system, assembled as the Dockerfile does", () => {
  let work: string;
  let runtime: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'daylog-image-'));
    const build = join(work, 'build');
    runtime = join(work, 'runtime');
    mkdirSync(build);
    mkdirSync(runtime);
    // The build stage's COPYs from the context; `npm ci` is stood in for by this checkout's node_modules.
    for (const copy of stage('build').copies) copyFromContext(build, copy);
    symlinkSync(join(REPO, 'node_modules'), join(build, 'node_modules'));
    await promisify(execFile)('npm', ['run', 'build'], { cwd: build });
    // The runtime stage: what it takes from the build stage, then from the context.
    for (const copy of stage('runtime').copies) {
      const from = copy.getFromFlag()?.getValue();
      if (from === undefined) {
        copyFromContext(runtime, copy);
        continue;
      }
      assert.equal(from, 'build');
      const [source, dest] = args(copy);
      const inBuild = join(build, relative('/app', source));
      const target = dest.endsWith('/') ? join(runtime, dest, basename(source)) : join(runtime, dest);
      if (basename(source) === 'node_modules') symlinkSync(join(REPO, 'node_modules'), target);
      else cpSync(inBuild, target, { recursive: true });
    }
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  function run(name: string, env: Record<string, string>) {
    const image = stage(name);
    // The stage's own files from the context; each stage gets its own runtime copy to run in.
    const root = join(work, name);
    cpSync(runtime, root, { recursive: true, verbatimSymlinks: true });
    for (const copy of image.copies) copyFromContext(root, copy);
    const imageEnv = Object.fromEntries(inherited(image, 'ENV').map((ins) => args(ins).join(' ').split('=') as [string, string]));
    const [program, ...rest] = jsonCommand(image);
    const child = spawn(program === 'node' ? process.execPath : program, rest, {
      cwd: root,
      env: { ...inheritedEnv(), ...imageEnv, PATH: PATH_WITH_THIS_NODE, ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, output: () => output };
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, output: () => string): Promise<T> {
    // A deadline, not a count of tries: on a loaded machine each try takes longer.
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && !output().includes('cannot start'); ) {
      const found = await probe().catch(() => undefined);
      if (found !== undefined) return found;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${what} did not happen:\n${output()}`);
  }

  it('runs the aggregator and the shipper from it, passes its HEALTHCHECK, and ships a file end to end', async () => {
    const dataDir = join(work, 'data');
    const logDir = join(work, 'logs');
    mkdirSync(logDir);
    writeFileSync(join(logDir, 'app.log'), 'INFO started\nERROR payment declined\nWARN slow upstream\n');
    const aggregator = run('aggregator', { DAYLOG_DATA_DIR: dataDir, DAYLOG_PORT: '0', DAYLOG_HOST: '127.0.0.1' });
    let shipper: ReturnType<typeof run> | undefined;
    try {
      const url = await until(
        'the aggregator listening',
        () => {
          const address = aggregator.output().split('\n').map((line) => /"message":"listening".*"address":"([^"]+)"/.exec(line)?.[1]).find(Boolean);
          return Promise.resolve(address && `http://${address}`);
        },
        aggregator.output,
      );

      const [healthcheck] = keyword(stage('aggregator'), 'HEALTHCHECK');
      const probe = JSON.parse(/CMD (\[.*\])/.exec(healthcheck.getArgumentsContent() ?? '')![1]) as string[];
      const pointed = probe.map((arg) => arg.replace('http://127.0.0.1:8080', url));
      await promisify(execFile)(process.execPath, pointed.slice(1), { cwd: runtime });
      // The image's command execs node with glibc's arenas set as start.sh sets them: the process Docker signals is node's.
      assert.equal(realpathSync(`/proc/${aggregator.child.pid}/exe`), realpathSync(process.execPath));
      const environ = readFileSync(`/proc/${aggregator.child.pid}/environ`, 'utf8').split('\0');
      assert.ok(environ.includes('MALLOC_ARENA_MAX=2'), environ.filter((v) => v.startsWith('MALLOC')).join(' '));

      shipper = run('shipper', {
        DAYLOG_URL: url,
        DAYLOG_FILES: join(logDir, '*.log'),
        DAYLOG_STATE_DIR: join(work, 'state'),
        POD_NAME: 'image-test',
        DAYLOG_BATCH_WAIT: '100ms',
      });
      const lines = await until(
        'the three lines arriving',
        async () => {
          const body = (await (await fetch(`${url}/api/v1/logs?pod=image-test&format=json&direction=forward`)).json()) as { lines: { level: string; message: string }[] };
          return body.lines.length === 3 ? body.lines : undefined;
        },
        () => aggregator.output() + shipper!.output(),
      );
      assert.deepEqual(
        lines.map((line) => [line.level, line.message]),
        [
          ['info', 'INFO started'],
          ['error', 'ERROR payment declined'],
          ['warn', 'WARN slow upstream'],
        ],
      );

      shipper.child.kill('SIGTERM');
      aggregator.child.kill('SIGTERM');
      assert.deepEqual(await Promise.all([shipper.exited, aggregator.exited]), [0, 0]);
    } finally {
      shipper?.child.kill('SIGKILL');
      aggregator.child.kill('SIGKILL');
    }
  });
});
