import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
import { NginxRun, nginxBlock, nginxDirectives, prepareNginx } from './support/nginx-run';

interface ComposeService {
  build?: unknown;
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  tmpfs?: string[];
  depends_on?: Record<string, { condition: string }>;
  stop_grace_period?: string;
  healthcheck?: { test: string[] };
  restart?: string;
  user?: string;
}

interface ComposeFile {
  name?: string;
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const readCompose = (name: string) => parse(readFileSync(join(REPO, name), 'utf8')) as ComposeFile;

/** A path in a service's container as `[volume, path within it]`, through its `volume:/mount[:ro]` mounts. */
function onVolume(service: ComposeService, path: string): [string, string] {
  for (const mount of service.volumes ?? []) {
    const [volume, mountPath] = mount.split(':');
    if (path.startsWith(`${mountPath}/`)) return [volume, path.slice(mountPath.length + 1)];
  }
  assert.fail(`no volume of the service holds ${path}`);
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
  const compose = readCompose('docker-compose.yml');
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

describe('docker-compose.scale-out.yml', () => {
  const file = join(REPO, 'docker-compose.scale-out.yml');
  const compose = readCompose('docker-compose.scale-out.yml');
  const single = readCompose('docker-compose.yml').services;
  const { postgres, 'postgres-password': passwordMaker, 'load-balancer': balancer, nginx, shipper, traffic } = compose.services;
  // The aggregator's replicas: the single box's image with the command it has.
  const replicaNames = Object.keys(compose.services).filter(
    (name) => compose.services[name].image === single.aggregator.image && compose.services[name].command === undefined,
  );
  const replicas = replicaNames.map((name) => compose.services[name]);
  const balancerConfig = readFileSync(join(REPO, 'deploy/nginx/load-balancer.conf'), 'utf8');

  let work: string;
  /** The one-shot service's volumes, each a temp dir, by name. */
  let volumeDirs: Record<string, string>;
  /** A file in a service's container, where the one-shot service's run left it. */
  const madeFile = (service: ComposeService, path: string) => {
    const [volume, within] = onVolume(service, path);
    return join(volumeDirs[volume], within);
  };

  /** The one-shot service's script as compose runs it (`$$` is compose's `$`), its volumes moved to the temp dirs. */
  function makePassword(): void {
    const [shell, flags, script] = passwordMaker.command ?? [];
    let placed = script.replaceAll('$$', '$');
    for (const mount of passwordMaker.volumes ?? []) {
      const [volume, path] = mount.split(':');
      placed = placed.replaceAll(`${path}/`, `${volumeDirs[volume]}/`);
    }
    execFileSync(shell, [flags, placed], { stdio: 'pipe' });
  }

  /** A replica's settings, its URL file the one the one-shot service made. */
  function replicaConfig(replica: ComposeService) {
    const env = replica.environment ?? {};
    return loadConfig({ ...env, DAYLOG_POSTGRES_URL_FILE: madeFile(replica, env.DAYLOG_POSTGRES_URL_FILE) });
  }

  before(() => {
    work = mkdtempSync(join(tmpdir(), 'daylog-compose-'));
    volumeDirs = Object.fromEntries(
      (passwordMaker.volumes ?? []).map((mount) => {
        const [volume] = mount.split(':');
        mkdirSync(join(work, volume));
        return [volume, join(work, volume)];
      }),
    );
    makePassword();
  });
  after(() => rmSync(work, { recursive: true, force: true }));

  it("is valid for Debian's docker-compose 1.29, which also means no top-level name", () => {
    execFileSync(debianTool('docker-compose'), ['-f', file, 'config', '-q'], { stdio: 'pipe' });
    assert.equal(compose.name, undefined);
  });

  it("runs two replicas of the single box's aggregator, alike but for their names, with no data volume and no port of their own", () => {
    assert.equal(replicas.length, 2);
    assert.deepEqual(replicas[1], replicas[0]);
    const [replica] = replicas;
    assert.deepEqual(replica.build, single.aggregator.build);
    assert.equal(replica.ports, undefined);
    assert.ok(replica.volumes?.every((mount) => mount.endsWith(':ro')), 'only the URL, read-only');
    // The image declares a volume for SQLite's data: a tmpfs there keeps Docker from making one per replica.
    const [, imageVolume] = /^VOLUME \["([^"]+)"\]$/m.exec(readFileSync(join(REPO, 'Dockerfile'), 'utf8')) ?? [];
    assert.ok(replica.tmpfs?.includes(imageVolume), imageVolume);
  });

  it('has the replicas read the database URL from a file the one-shot postgres-password makes, the password in no environment', () => {
    const password = readFileSync(madeFile(postgres, postgres.environment?.POSTGRES_PASSWORD_FILE ?? ''), 'utf8');
    assert.match(password, /^[0-9a-f]{48}$/);
    for (const replica of replicas) {
      const url = new URL(readFileSync(madeFile(replica, replica.environment?.DAYLOG_POSTGRES_URL_FILE ?? ''), 'utf8'));
      assert.deepEqual(
        [url.protocol, url.username, url.password, url.hostname, url.port, url.pathname],
        ['postgres:', postgres.environment?.POSTGRES_USER, password, 'postgres', '5432', `/${postgres.environment?.POSTGRES_DB}`],
      );
    }
    const postgresUid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
    const nodeUid = 1000;
    for (const [path, owner] of [
      [madeFile(postgres, postgres.environment?.POSTGRES_PASSWORD_FILE ?? ''), postgresUid],
      [madeFile(replicas[0], replicas[0].environment?.DAYLOG_POSTGRES_URL_FILE ?? ''), nodeUid],
    ] as const) {
      const { mode, uid } = statSync(path);
      assert.deepEqual([mode & 0o777, uid], [0o600, owner], path);
    }
    makePassword();
    assert.equal(readFileSync(madeFile(postgres, postgres.environment?.POSTGRES_PASSWORD_FILE ?? ''), 'utf8'), password, 'a restart keeps the password');
    for (const service of Object.values(compose.services)) {
      for (const [name, value] of Object.entries(service.environment ?? {})) {
        assert.ok(!['DAYLOG_POSTGRES_URL', 'POSTGRES_PASSWORD'].includes(name) && !String(value).includes('postgres://'), name);
      }
    }
  });

  it("gives the replicas settings the aggregator accepts, none of SQLite's, at most 60 s of waiting for the database at boot, and time to stop", () => {
    for (const replica of replicas) {
      const config = replicaConfig(replica);
      const env = replica.environment ?? {};
      for (const sqliteOnly of ['DAYLOG_DATA_DIR', 'DAYLOG_SYNCHRONOUS', 'DAYLOG_MAX_DISK']) assert.equal(env[sqliteOnly], undefined, sqliteOnly);
      const bootWait = parseDuration(env.DAYLOG_POSTGRES_CONNECT_TIMEOUT ?? '');
      assert.ok(bootWait !== undefined && bootWait <= 60_000, 'DAYLOG_POSTGRES_CONNECT_TIMEOUT');
      const stopGrace = parseDuration(replica.stop_grace_period ?? '10s');
      assert.ok(stopGrace !== undefined && config.shutdownGraceMs < stopGrace);
      // A search answers with what it found at DAYLOG_QUERY_TIMEOUT: the balancer waits longer than that.
      const [[readTimeout]] = nginxDirectives(nginxBlock(balancerConfig, 'server'), 'proxy_read_timeout');
      assert.ok(config.queryTimeoutMs < parseDuration(readTimeout)!, readTimeout);
    }
  });

  it('starts the database once its password is made, and the replicas once it answers over TCP', () => {
    assert.equal(postgres.image, 'postgres:15-bookworm');
    assert.equal(passwordMaker.image, postgres.image);
    assert.equal(passwordMaker.restart, undefined, 'runs once');
    assert.deepEqual(postgres.depends_on, { 'postgres-password': { condition: 'service_completed_successfully' } });
    assert.ok(postgres.volumes?.includes('postgres-data:/var/lib/postgresql/data'));
    assert.deepEqual(postgres.healthcheck?.test.slice(0, 3), ['CMD', 'pg_isready', '--host=127.0.0.1']);
    for (const replica of replicas) assert.deepEqual(replica.depends_on, { postgres: { condition: 'service_healthy' } });
  });

  it('puts the load balancer on 8080 in front of exactly the replicas, once they are healthy (their HEALTHCHECK is /readyz)', () => {
    assert.deepEqual(balancer.ports, single.aggregator.ports);
    assert.equal(balancer.image, single.nginx.image);
    assert.ok(balancer.volumes?.includes('./deploy/nginx/load-balancer.conf:/etc/nginx/conf.d/default.conf:ro'));
    const { port } = replicaConfig(replicas[0]);
    assert.deepEqual(
      nginxDirectives(nginxBlock(balancerConfig, 'upstream daylog'), 'server').map(([address]) => address),
      replicaNames.map((name) => `${name}:${port}`),
    );
    const [published] = balancer.ports ?? [];
    assert.deepEqual(nginxDirectives(nginxBlock(balancerConfig, 'server'), 'listen'), [[published.split(':')[1]]]);
    assert.deepEqual(balancer.depends_on, Object.fromEntries(replicaNames.map((name) => [name, { condition: 'service_healthy' }])));
    for (const replica of replicas) assert.deepEqual([replica.healthcheck, replica.user], [undefined, undefined], "the image's HEALTHCHECK and user");
  });

  it("runs the seed's nginx, shipper and traffic as docker-compose.yml does, the shipper sending to the load balancer", () => {
    assert.deepEqual(nginx, single.nginx);
    assert.deepEqual(traffic, single.traffic);
    const [published] = balancer.ports ?? [];
    assert.deepEqual(shipper, {
      ...single.shipper,
      environment: { ...single.shipper.environment, DAYLOG_URL: `http://load-balancer:${published.split(':')[1]}` },
      depends_on: { 'load-balancer': { condition: 'service_started' }, nginx: { condition: 'service_started' } },
    });
    loadShipperConfig(shipper.environment ?? {});
  });

  it("keeps the database, its password and URL, and the seed's volumes; nothing of the replicas", () => {
    assert.deepEqual(Object.keys(compose.volumes).sort(), ['daylog-postgres-url', 'nginx-logs', 'postgres-data', 'postgres-password', 'shipper-state']);
  });
});

describe('the nginx config compose uses', () => {
  let nginx: NginxRun;

  before(async () => {
    nginx = await prepareNginx(join(REPO, 'deploy/nginx/default.conf'), (server, dir, port) => {
      mkdirSync(join(dir, 'html'));
      writeFileSync(join(dir, 'html', 'index.html'), 'hello\n');
      return server
        .replaceAll('/var/log/app/', `${dir}/logs/`)
        .replace('root /usr/share/nginx/html;', `root ${dir}/html;`)
        .replace('listen 80;', `listen 127.0.0.1:${port};`);
    });
  });

  after(() => nginx.close());

  it("passes Debian nginx's nginx -t", () => {
    nginx.check();
  });

  it('writes access.log and error.log, with a 404 and a 502 from the upstream that is down', async () => {
    await nginx.start();
    const statuses = [await get(nginx.port, '/'), await get(nginx.port, '/missing'), await get(nginx.port, '/api/orders')];
    assert.deepEqual(statuses, [200, 404, 502]);
    // nginx logs a request after it has answered it: the last line may land a moment after its response.
    const logged = (file: string, pattern: RegExp) => pattern.test(readFileSync(join(nginx.dir, 'logs', file), 'utf8'));
    for (let attempt = 0; attempt < 50 && !(logged('access.log', /" 502 /) && logged('error.log', /connect\(\) failed/)); attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const access = readFileSync(join(nginx.dir, 'logs', 'access.log'), 'utf8');
    assert.match(access, /"GET \/ HTTP\/1\.1" 200 /);
    assert.match(access, /"GET \/api\/orders HTTP\/1\.1" 502 /);
    assert.match(readFileSync(join(nginx.dir, 'logs', 'error.log'), 'utf8'), /\[error\].*connect\(\) failed/);
  });
});
