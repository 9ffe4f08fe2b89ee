import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '@daylog/config';
import { loadShipperConfig } from '@daylog/config/shipper';
import { REPO, imageCommand } from './support/image-command';

const DIR = join(REPO, 'deploy/kubernetes');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  restartPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  livenessProbe?: { httpGet?: { path: string } };
  readinessProbe?: { httpGet?: { path: string } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
}

interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: { name: string; emptyDir?: object; configMap?: { name: string }; persistentVolumeClaim?: { claimName: string } }[];
}

function manifests(file: string): Manifest[] {
  return parseAllDocuments(readFileSync(join(DIR, file), 'utf8')).map((document) => {
    if (document.errors.length > 0) throw new Error(`${file}: ${document.errors[0].message}`);
    return document.toJSON() as Manifest;
  });
}

function find(list: Manifest[], kind: string): Manifest {
  const found = list.find((m) => m.kind === kind);
  assert.ok(found, `no ${kind}`);
  return found;
}

const envOf = (container: Container, name: string) => container.env?.find((e) => e.name === name);

describe('Kubernetes manifests', () => {
  /** kind → the kubernetes-models class that validates it against the Kubernetes OpenAPI schema. */
  let models: Record<string, new (data: object) => { validate(): void }>;

  before(async () => {
    const [core, apps] = await Promise.all([import('kubernetes-models/v1'), import('kubernetes-models/apps/v1')]);
    models = {
      Pod: core.Pod,
      ConfigMap: core.ConfigMap,
      Service: core.Service,
      PersistentVolumeClaim: core.PersistentVolumeClaim,
      Deployment: apps.Deployment,
    };
  });

  it('are each valid against the Kubernetes schemas', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(files.sort(), ['aggregator.yaml', 'webserver-classic.yaml', 'webserver.yaml']);
    for (const file of files) {
      for (const manifest of manifests(file)) {
        const Model = models[manifest.kind];
        assert.ok(Model, `${file}: no model for ${manifest.kind}`);
        assert.doesNotThrow(() => new Model(manifest).validate(), `${file}: ${manifest.kind} ${manifest.metadata.name}`);
      }
    }
  });

  for (const [file, native] of [['webserver.yaml', true], ['webserver-classic.yaml', false]] as const) {
    describe(file, () => {
      const list = manifests(file);
      const pod = find(list, 'Pod').spec as unknown as PodSpec;
      const all = [...(pod.initContainers ?? []), ...pod.containers];
      const shipper = all.find((c) => c.name === 'daylog-shipper')!;
      const nginx = all.find((c) => c.name === 'nginx')!;

      it(native ? 'runs the shipper as a native sidecar: an init container that restarts always' : 'runs the shipper as a second container', () => {
        if (native) {
          assert.deepEqual(pod.initContainers?.map((c) => [c.name, c.restartPolicy]), [['daylog-shipper', 'Always']]);
          assert.deepEqual(pod.containers.map((c) => c.name), ['nginx']);
        } else {
          assert.equal(pod.initContainers, undefined);
          assert.deepEqual(pod.containers.map((c) => [c.name, c.restartPolicy]).sort(), [['daylog-shipper', undefined], ['nginx', undefined]]);
        }
        const [, args] = imageCommand('shipper');
        assert.deepEqual(shipper.command, ['node', ...args]);
      });

      it('shares an emptyDir between nginx and the shipper at /var/log/app', () => {
        const logs = pod.volumes.find((v) => v.name === 'logs');
        assert.ok(logs?.emptyDir);
        for (const container of [nginx, shipper]) {
          assert.ok(container.volumeMounts?.some((m) => m.name === 'logs' && m.mountPath === '/var/log/app'), container.name);
        }
        assert.equal(envOf(shipper, 'DAYLOG_FILES')?.value, '/var/log/app/*.log');
      });

      it("configures nginx with compose's config, writing real files there", () => {
        const config = find(list, 'ConfigMap');
        assert.equal(config.data?.['default.conf'], readFileSync(join(REPO, 'deploy/nginx/default.conf'), 'utf8'));
        assert.equal(pod.volumes.find((v) => v.name === 'nginx-config')?.configMap?.name, config.metadata.name);
        assert.ok(nginx.volumeMounts?.some((m) => m.name === 'nginx-config' && m.mountPath === '/etc/nginx/conf.d'));
      });

      it('gives the shipper its pod identity from the Downward API and the aggregator Service as its URL', () => {
        assert.equal(envOf(shipper, 'POD_NAME')?.valueFrom?.fieldRef?.fieldPath, 'metadata.name');
        assert.equal(envOf(shipper, 'POD_NAMESPACE')?.valueFrom?.fieldRef?.fieldPath, 'metadata.namespace');
        assert.equal(envOf(shipper, 'CONTAINER_NAME')?.value, 'nginx');
        const service = find(manifests('aggregator.yaml'), 'Service') as Manifest & { spec: { ports: { port: number }[] } };
        assert.equal(envOf(shipper, 'DAYLOG_URL')?.value, `http://${service.metadata.name}.default.svc.cluster.local:${service.spec.ports[0].port}`);
      });

      it('probes the shipper for liveness at /livez, which a failing delivery does not fail', () => {
        assert.equal(shipper.livenessProbe?.httpGet?.path, '/livez');
        assert.equal(shipper.readinessProbe, undefined);
      });

      it('keeps the checkpoints on an emptyDir of their own, outside the logs, which the shipper only reads', () => {
        const stateDir = envOf(shipper, 'DAYLOG_STATE_DIR')?.value ?? '';
        const mount = shipper.volumeMounts?.find((m) => stateDir === m.mountPath || stateDir.startsWith(`${m.mountPath}/`));
        assert.ok(mount && mount.name !== 'logs' && !mount.readOnly, `no writable volume of its own holds DAYLOG_STATE_DIR=${stateDir}`);
        assert.ok(pod.volumes.find((v) => v.name === mount.name)?.emptyDir);
        assert.ok(!stateDir.startsWith('/var/log/app'));
        assert.ok(shipper.volumeMounts?.find((m) => m.name === 'logs')?.readOnly);
      });

      it('is configured with settings the shipper accepts', () => {
        const fromDownwardApi = { POD_NAME: 'webserver', POD_NAMESPACE: 'default' };
        const env = { ...Object.fromEntries((shipper.env ?? []).flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]]))), ...fromDownwardApi };
        assert.equal(loadShipperConfig(env).metricsPort, shipper.ports?.find((p) => p.name === 'metrics')?.containerPort);
      });

      it('sets resource requests and a memory limit on every container', () => {
        for (const container of all) {
          assert.ok(container.resources?.requests?.cpu && container.resources.requests.memory, container.name);
          assert.ok(container.resources.limits?.memory, container.name);
        }
      });
    });
  }

  describe('aggregator.yaml', () => {
    const list = manifests('aggregator.yaml');
    const deployment = find(list, 'Deployment') as Manifest & {
      spec: {
        replicas: number;
        strategy: { type: string };
        template: { metadata: { annotations?: Record<string, string> }; spec: PodSpec & { terminationGracePeriodSeconds?: number } };
      };
    };
    const [aggregator] = deployment.spec.template.spec.containers;

    it('runs one replica that lets go of its volume before the next starts', () => {
      assert.equal(deployment.spec.replicas, 1);
      assert.equal(deployment.spec.strategy.type, 'Recreate');
    });

    it('keeps its data on the claim and probes /healthz for liveness and /readyz for readiness', () => {
      const claim = find(list, 'PersistentVolumeClaim');
      const volume = deployment.spec.template.spec.volumes.find((v) => v.persistentVolumeClaim);
      assert.equal(volume?.persistentVolumeClaim?.claimName, claim.metadata.name);
      const dataDir = envOf(aggregator, 'DAYLOG_DATA_DIR')?.value;
      assert.ok(aggregator.volumeMounts?.some((m) => m.name === volume?.name && m.mountPath === dataDir));
      assert.equal(aggregator.livenessProbe?.httpGet?.path, '/healthz');
      assert.equal(aggregator.readinessProbe?.httpGet?.path, '/readyz');
    });

    it('is configured with settings the aggregator accepts, and stops within the pod\'s grace period', () => {
      const env = Object.fromEntries((aggregator.env ?? []).map((variable) => [variable.name, variable.value]));
      const config = loadConfig(env);
      const graceSeconds = deployment.spec.template.spec.terminationGracePeriodSeconds ?? 30;
      assert.ok(config.shutdownGraceMs < graceSeconds * 1000, 'DAYLOG_SHUTDOWN_GRACE ends before Kubernetes sends SIGKILL');
    });

    it('is discovered by Prometheus at /metrics on the port it listens on', () => {
      const annotations = deployment.spec.template.metadata.annotations ?? {};
      assert.equal(annotations['prometheus.io/scrape'], 'true');
      assert.equal(annotations['prometheus.io/path'], '/metrics');
      assert.equal(Number(annotations['prometheus.io/port']), aggregator.ports?.[0].containerPort);
    });
  });
});
