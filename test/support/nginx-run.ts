import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { debianTool } from './debian-tool';
import { freePort } from './shipper-harness';

/** A server config of deploy/nginx run by Debian's nginx from a temp dir. */
export interface NginxRun {
  readonly dir: string;
  readonly port: number;
  /** `nginx -t`: throws with nginx's own message when the config is refused. */
  check(): void;
  /** Starts nginx; resolves once it takes connections on `port`. */
  start(): Promise<void>;
  /** Stops nginx if it runs, and removes the temp dir. */
  close(): Promise<void>;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * The server config as compose mounts it in conf.d (inside nginx's `http` block), with only what `place`
 * changes: its paths moved into the temp dir and its `listen` to 127.0.0.1 at a free port (both given).
 */
export async function prepareNginx(file: string, place: (config: string, dir: string, port: number) => string): Promise<NginxRun> {
  const dir = mkdtempSync(join(tmpdir(), 'daylog-nginx-'));
  // nginx's workers drop root for an unprivileged user, who must be able to read what the config serves.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'logs'));
  const port = await freePort();
  const server = place(readFileSync(file, 'utf8'), dir, port);
  const config = join(dir, 'nginx.conf');
  writeFileSync(
    config,
    `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/main-error.log;\nevents {}\nhttp {\n` +
      `client_body_temp_path ${dir}/body;\nproxy_temp_path ${dir}/proxy;\nfastcgi_temp_path ${dir}/fastcgi;\n` +
      `uwsgi_temp_path ${dir}/uwsgi;\nscgi_temp_path ${dir}/scgi;\n${server}\n}\n`,
  );
  const errors = () => (existsSync(join(dir, 'main-error.log')) ? readFileSync(join(dir, 'main-error.log'), 'utf8') : '');
  let nginx: ChildProcess | null = null;

  return {
    dir,
    port,
    check: () => execFileSync(debianTool('nginx'), ['-t', '-q', '-p', dir, '-c', config], { stdio: 'pipe' }),
    async start() {
      const started = spawn(debianTool('nginx'), ['-p', dir, '-c', config], { stdio: 'ignore' });
      nginx = started;
      for (const deadline = Date.now() + 30_000; !(await accepts(port)); ) {
        if (started.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not start:\n${errors()}`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async close() {
      if (nginx && nginx.exitCode === null) {
        // A fast stop: a graceful one would wait for a live tail still open.
        nginx.kill('SIGTERM');
        await once(nginx, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What is inside the first `header { … }` block of an nginx config, e.g. `upstream daylog` or `location /api/v1/tail`. */
export function nginxBlock(config: string, header: string): string {
  const open = config.search(new RegExp(`(^|\\s)${header.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\s*\\{`, 'm'));
  if (open < 0) throw new Error(`the config has no block "${header}"`);
  const body = config.indexOf('{', open) + 1;
  for (let i = body, depth = 1; i < config.length; i++) {
    if (config[i] === '{') depth++;
    if (config[i] === '}' && --depth === 0) return config.slice(body, i);
  }
  throw new Error(`the block "${header}" is not closed`);
}

/** The arguments of each `name …;` directive of a block itself, not of the blocks inside it; comments left out. */
export function nginxDirectives(block: string, name: string): string[][] {
  let own = '';
  let depth = 0;
  for (const char of block.replace(/#.*$/gm, '')) {
    if (char === '{') depth++;
    if (depth === 0) own += char;
    // An inner block ends its header's statement.
    if (char === '}' && --depth === 0) own += ';';
  }
  return own
    .split(';')
    .map((statement) => statement.trim().split(/\s+/))
    .filter(([directive]) => directive === name)
    .map(([, ...args]) => args);
}
