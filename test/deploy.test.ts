import assert from 'node:assert/strict';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '@daylog/config';
import { loadShipperConfig } from '@daylog/config/shipper';
import { parseDuration } from '@daylog/log-model';
import { debianTool } from './support/debian-tool';
import { REPO, imageCommand } from './support/image-command';
import { freePort } from './support/shipper-harness';

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
}


function get(port: number, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    })
      .on('error', reject)
      .end();
  });
}

describe('docker-compose.yml', () => {
  const file = join(REPO, 'docker-compose.yml');
  const compose = parse(readFileSync(file, 'utf8')) as { name?: string; services: Record<string, ComposeService>; volumes: Record<string, unknown> };
  const { aggregator, nginx, shipper, traffic } = compose.services;

  it("is valid for Debian's docker-compose 1.29, which also means no top-level name", () => {
    execFileSync(debianTool('docker-compose'), ['-f', file, 'config', '-q'], { stdio: 'pipe' });
    assert.equal(compose.name, undefined);
  });

  it('runs the aggregator on 8080 with its data on a named volume, and the shipper from the same image', () => {
    assert.deepEqual(aggregator.ports, ['8080:8080']);
    assert.ok(aggregator.volumes?.includes('daylog-data:/var/lib/daylog'));
    assert.equal(shipper.image, aggregator.image);
    const [, args] = imageCommand('shipper');
    assert.deepEqual(shipper.command, ['node', ...args]);
    assert.deepEqual(Object.keys(compose.volumes).sort(), ['daylog-data', 'nginx-logs', 'shipper-state']);
  });

  it('gives the aggregator settings it accepts, and time to stop before Docker kills it', () => {
    const config = loadConfig(aggregator.environment ?? {});
    const stopGrace = parseDuration(aggregator.stop_grace_period ?? '10s');
    assert.ok(stopGrace !== undefined && config.shutdownGraceMs < stopGrace);
  });

  it('has nginx write real files on a volume the shipper reads, not under /var/log/nginx', () => {
    assert.ok(nginx.volumes?.includes('./deploy/nginx/default.conf:/etc/nginx/conf.d/default.conf:ro'));
    assert.ok(nginx.volumes?.includes('nginx-logs:/var/log/app'));
    assert.ok(!nginx.volumes?.some((volume) => volume.endsWith(':/var/log/nginx')));
    assert.ok(shipper.volumes?.includes('nginx-logs:/var/log/app:ro'));
    assert.equal(shipper.environment?.DAYLOG_FILES, '/var/log/app/*.log');
  });

  it('points the shipper at the aggregator with the pod identity set, once the aggregator is healthy', () => {
    assert.equal(shipper.environment?.DAYLOG_URL, 'http://aggregator:8080');
    assert.deepEqual(
      [shipper.environment?.POD_NAME, shipper.environment?.POD_NAMESPACE, shipper.environment?.CONTAINER_NAME],
      ['webserver', 'default', 'nginx'],
    );
    assert.deepEqual(shipper.depends_on?.aggregator, { condition: 'service_healthy' });
  });

  it('gives the shipper settings it accepts, its checkpoints on a volume of their own, and a healthcheck on delivery', () => {
    const config = loadShipperConfig(shipper.environment ?? {});
    const stateMount = shipper.volumes?.map((volume) => volume.split(':')).find(([, path]) => config.stateDir.startsWith(`${path}/`));
    assert.equal(stateMount?.[0], 'shipper-state');
    assert.ok(!config.stateDir.startsWith('/var/log/app'));
    assert.ok(shipper.healthcheck?.test.join(' ').includes(`http://127.0.0.1:${config.metricsPort}/healthz`));
  });

  it('sends nginx traffic that makes successes, a 404 and a 502', () => {
    const script = (traffic.command ?? []).join(' ');
    for (const path of ['http://nginx/', 'http://nginx/missing', 'http://nginx/api/']) assert.ok(script.includes(path), path);
  });
});

describe('the nginx config compose uses', () => {
  let dir: string;
  let port: number;
  let nginx: ChildProcess | null = null;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'daylog-nginx-'));
    // nginx's workers drop root for an unprivileged user, who must be able to read the page.
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'html'));
    writeFileSync(join(dir, 'html', 'index.html'), 'hello\n');
    port = await freePort();
    // The server config as compose mounts it, with only its paths and port moved into the temp dir.
    const server = readFileSync(join(REPO, 'deploy/nginx/default.conf'), 'utf8')
      .replaceAll('/var/log/app/', `${dir}/logs/`)
      .replace('root /usr/share/nginx/html;', `root ${dir}/html;`)
      .replace('listen 80;', `listen 127.0.0.1:${port};`);
    writeFileSync(
      join(dir, 'nginx.conf'),
      `daemon off;\npid ${dir}/nginx.pid;\nerror_log ${dir}/main-error.log;\nevents {}\nhttp {\n` +
        `client_body_temp_path ${dir}/body;\nproxy_temp_path ${dir}/proxy;\nfastcgi_temp_path ${dir}/fastcgi;\n` +
        `uwsgi_temp_path ${dir}/uwsgi;\nscgi_temp_path ${dir}/scgi;\n${server}\n}\n`,
    );
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      nginx.kill('SIGQUIT');
      await once(nginx, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("passes Debian nginx's nginx -t", () => {
    execFileSync(debianTool('nginx'), ['-t', '-q', '-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'pipe' });
  });

  it('writes access.log and error.log, with a 404 and a 502 from the upstream that is down', async () => {
    nginx = spawn(debianTool('nginx'), ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
    let statuses: number[] = [];
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        statuses = [await get(port, '/'), await get(port, '/missing'), await get(port, '/api/orders')];
        break;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    assert.deepEqual(statuses, [200, 404, 502]);
    // nginx logs a request after it has answered it: the last line may land a moment after its response.
    const logged = (file: string, pattern: RegExp) => pattern.test(readFileSync(join(dir, 'logs', file), 'utf8'));
    for (let attempt = 0; attempt < 50 && !(logged('access.log', /" 502 /) && logged('error.log', /connect\(\) failed/)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const access = readFileSync(join(dir, 'logs', 'access.log'), 'utf8');
    assert.match(access, /"GET \/ HTTP\/1\.1" 200 /);
    assert.match(access, /"GET \/api\/orders HTTP\/1\.1" 502 /);
    assert.match(readFileSync(join(dir, 'logs', 'error.log'), 'utf8'), /\[error\].*connect\(\) failed/);
  });
});
