import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '@daylog/config';
import { loadShipperConfig } from '@daylog/config/shipper';
import { parseDuration } from '@daylog/log-model';
import { REPO, imageCommand } from './support/image-command';

const DIR = join(REPO, 'deploy/kubernetes');

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
  data?: Record<string, string>;
}

interface Probe {
  httpGet?: { path: string };
  periodSeconds?: number;
  failureThreshold?: number;
}

interface Container {
  name: string;
  image: string;
  command?: string[];
  restartPolicy?: string;
  ports?: { name?: string; containerPort: number }[];
  env?: { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string }; secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  startupProbe?: Probe;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: {
    runAsUser?: number;
    runAsNonRoot?: boolean;
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    readOnlyRootFilesystem?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
}

interface PodSpec {
  initContainers?: Container[];
  containers: Container[];
  volumes: {
    name: string;
    emptyDir?: object;
    configMap?: { name: string };
    persistentVolumeClaim?: { claimName: string };
    secret?: { secretName: string; items?: { key: string; path: string }[]; defaultMode?: number };
    hostPath?: { path: string; type?: string };
  }[];
}

type NodeAgentDaemonSet = Manifest & {
  spec: {
    selector: { matchLabels: Record<string, string> };
    updateStrategy: { type: string; rollingUpdate?: { maxUnavailable?: number | string } };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec & {
        automountServiceAccountToken?: boolean;
        hostNetwork?: boolean;
        hostPID?: boolean;
        tolerations?: object[];
        priorityClassName?: string;
        terminationGracePeriodSeconds?: number;
      };
    };
  };
};

type AggregatorDeployment = Manifest & {
  spec: {
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    strategy: { type: string; rollingUpdate?: { maxSurge?: number | string; maxUnavailable?: number | string } };
    template: {
      metadata: { labels: Record<string, string>; annotations?: Record<string, string> };
      spec: PodSpec & {
        terminationGracePeriodSeconds?: number;
        securityContext?: Record<string, unknown>;
        topologySpreadConstraints?: { topologyKey: string; labelSelector: { matchLabels: Record<string, string> } }[];
      };
    };
  };
};

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
    const [core, apps, policy] = await Promise.all([import('kubernetes-models/v1'), import('kubernetes-models/apps/v1'), import('kubernetes-models/policy/v1')]);
    models = {
      Pod: core.Pod,
      ConfigMap: core.ConfigMap,
      Service: core.Service,
      PersistentVolumeClaim: core.PersistentVolumeClaim,
      Deployment: apps.Deployment,
      DaemonSet: apps.DaemonSet,
      PodDisruptionBudget: policy.PodDisruptionBudget,
    };
  });

  it('are each valid against the Kubernetes schemas', () => {
    const files = readdirSync(DIR).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(files.sort(), ['aggregator-postgres.yaml', 'aggregator.yaml', 'node-agent.yaml', 'webserver-classic.yaml', 'webserver.yaml']);
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
    const deployment = find(list, 'Deployment') as AggregatorDeployment;
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

  describe('aggregator-postgres.yaml', () => {
    const list = manifests('aggregator-postgres.yaml');
    const deployment = find(list, 'Deployment') as AggregatorDeployment;
    const pod = deployment.spec.template.spec;
    const [aggregator] = pod.containers;
    const singleBox = find(manifests('aggregator.yaml'), 'Deployment') as AggregatorDeployment;
    const value = (name: string) => envOf(aggregator, name)?.value ?? '';
    let work: string;

    before(() => (work = mkdtempSync(join(tmpdir(), 'daylog-k8s-'))));
    after(() => rmSync(work, { recursive: true, force: true }));

    it('runs three replicas, rolled one new pod at a time with no old one gone before it is ready', () => {
      assert.equal(deployment.spec.replicas, 3);
      assert.deepEqual(deployment.spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    });

    it("lets drains and evictions take one replica at a time, at any replica count, with the pods spread over nodes", () => {
      const budget = find(list, 'PodDisruptionBudget') as Manifest & { spec: { maxUnavailable?: number; minAvailable?: number; selector: unknown } };
      assert.equal(budget.spec.maxUnavailable, 1);
      assert.equal(budget.spec.minAvailable, undefined);
      assert.deepEqual(budget.spec.selector, deployment.spec.selector);
      const [spread] = pod.topologySpreadConstraints ?? [];
      assert.equal(spread?.topologyKey, 'kubernetes.io/hostname');
      assert.deepEqual(spread.labelSelector, deployment.spec.selector);
    });

    it('keeps nothing on a volume: no claim, only the Secret with the database URL where DAYLOG_POSTGRES_URL_FILE reads it', () => {
      assert.ok(!list.some((m) => m.kind === 'PersistentVolumeClaim'));
      assert.deepEqual(pod.volumes.map((v) => Object.keys(v).sort()), [['name', 'secret']]);
      const [volume] = pod.volumes;
      const mount = aggregator.volumeMounts?.find((m) => m.name === volume.name);
      assert.ok(mount?.readOnly);
      assert.equal(volume.secret?.secretName, 'daylog-postgres');
      assert.deepEqual(volume.secret.items?.map((item) => [item.key, `${mount.mountPath}/${item.path}`]), [['url', value('DAYLOG_POSTGRES_URL_FILE')]]);
      // Read by the group fsGroup gives the pod's user, and by no one else.
      assert.equal(volume.secret.defaultMode, 0o440);
      assert.equal(envOf(aggregator, 'DAYLOG_POSTGRES_URL'), undefined);
      assert.ok(!aggregator.env?.some((variable) => variable.value?.includes('postgres://')));
    });

    it("probes /healthz for liveness only once it has started, which may take the whole wait for the database, and /readyz for readiness", () => {
      const { startupProbe, livenessProbe, readinessProbe } = aggregator;
      assert.equal(startupProbe?.httpGet?.path, '/healthz');
      const bootWait = parseDuration(value('DAYLOG_POSTGRES_CONNECT_TIMEOUT'));
      assert.ok(bootWait !== undefined && bootWait <= 60_000, 'DAYLOG_POSTGRES_CONNECT_TIMEOUT');
      assert.ok((startupProbe.periodSeconds ?? 10) * (startupProbe.failureThreshold ?? 3) * 1000 > bootWait, 'the startup probe gives up before the wait is over');
      assert.equal(livenessProbe?.httpGet?.path, '/healthz');
      assert.equal(readinessProbe?.httpGet?.path, '/readyz');
    });

    it("is configured with settings the aggregator accepts, none of SQLite's, and stops within the pod's grace period", () => {
      const urlFile = join(work, 'postgres-url');
      writeFileSync(urlFile, 'postgres://daylog:secret@postgres.db.svc.cluster.local:5432/daylog');
      const env = Object.fromEntries((aggregator.env ?? []).map((variable) => [variable.name, variable.value]));
      for (const sqliteOnly of ['DAYLOG_DATA_DIR', 'DAYLOG_SYNCHRONOUS', 'DAYLOG_MAX_DISK']) assert.equal(env[sqliteOnly], undefined, sqliteOnly);
      const config = loadConfig({ ...env, DAYLOG_POSTGRES_URL_FILE: urlFile });
      const [program, seconds] = aggregator.lifecycle?.preStop?.exec?.command ?? [];
      assert.equal(program, 'sleep');
      const graceSeconds = pod.terminationGracePeriodSeconds ?? 30;
      assert.ok(Number(seconds) * 1000 + config.shutdownGraceMs < graceSeconds * 1000, 'the pause and DAYLOG_SHUTDOWN_GRACE end before Kubernetes sends SIGKILL');
    });

    it('runs as the same non-root user, with the same resources and Prometheus annotations, as aggregator.yaml', () => {
      const single = singleBox.spec.template;
      assert.deepEqual(pod.securityContext, single.spec.securityContext);
      assert.equal(pod.securityContext?.runAsNonRoot, true);
      assert.deepEqual(aggregator.resources, single.spec.containers[0].resources);
      assert.deepEqual(deployment.spec.template.metadata.annotations, single.metadata.annotations);
      assert.deepEqual(aggregator.ports, single.spec.containers[0].ports);
    });

    it("is the Service aggregator.yaml has, in front of the replicas: the shipper's URL holds with either", () => {
      assert.deepEqual(find(list, 'Service'), find(manifests('aggregator.yaml'), 'Service'));
      assert.deepEqual(deployment.metadata, singleBox.metadata);
      assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
    });
  });

  describe('node-agent.yaml', () => {
    const list = manifests('node-agent.yaml');
    const daemonSet = find(list, 'DaemonSet') as NodeAgentDaemonSet;
    const pod = daemonSet.spec.template.spec;
    const [agent] = pod.containers;
    const hostPathOf = (mount: { name: string }) => pod.volumes.find((v) => v.name === mount.name)?.hostPath;
    const stateDir = envOf(agent, 'DAYLOG_STATE_DIR')?.value ?? '';
    const stateMount = agent.volumeMounts?.find((m) => stateDir === m.mountPath || stateDir.startsWith(`${m.mountPath}/`));
    /** The agent's settings as the shipper would see them on a node, the Downward API's values filled in. */
    const nodeEnv = () => ({
      ...Object.fromEntries((agent.env ?? []).flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]]))),
      POD_UID: '3f5c2a4e-8b1d-4c6f-9e2a-7d0b1c3e5f68',
      NODE_NAME: 'node-a',
    });

    it('is one DaemonSet running the shipper image alone, with nothing for the API server: no account token, no RBAC', () => {
      assert.deepEqual(list.map((m) => m.kind), ['DaemonSet']);
      assert.equal(pod.automountServiceAccountToken, false);
      assert.deepEqual(pod.containers.map((c) => c.name), ['daylog-shipper']);
      assert.equal(pod.initContainers, undefined);
      const [, args] = imageCommand('shipper');
      assert.deepEqual(agent.command, ['node', ...args]);
      assert.deepEqual(daemonSet.spec.selector.matchLabels, daemonSet.spec.template.metadata.labels);
      assert.notDeepEqual(daemonSet.spec.selector, (find(manifests('aggregator.yaml'), 'Deployment') as AggregatorDeployment).spec.selector);
    });

    it("is configured with settings the shipper accepts, in node mode over the kubelet's /var/log/pods", () => {
      const config = loadShipperConfig(nodeEnv());
      assert.equal(config.pods?.podsDir, '/var/log/pods');
      assert.equal(config.metricsPort, agent.ports?.find((p) => p.name === 'metrics')?.containerPort);
      assert.equal(Number(daemonSet.spec.template.metadata.annotations?.['prometheus.io/port']), config.metricsPort);
      assert.equal(envOf(agent, 'DAYLOG_FILES'), undefined);
    });

    it('knows its own pod by its UID, and its node, from the Downward API', () => {
      assert.equal(envOf(agent, 'POD_UID')?.valueFrom?.fieldRef?.fieldPath, 'metadata.uid');
      assert.equal(envOf(agent, 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
      assert.equal(loadShipperConfig(nodeEnv()).pods?.ownPodUid, '3f5c2a4e-8b1d-4c6f-9e2a-7d0b1c3e5f68');
    });

    it("sends to the sidecar's aggregator URL, with the ingest token from a Secret when there is one", () => {
      const sidecar = find(manifests('webserver.yaml'), 'Pod').spec as unknown as PodSpec;
      const sidecarUrl = envOf(sidecar.initContainers!.find((c) => c.name === 'daylog-shipper')!, 'DAYLOG_URL')?.value;
      assert.equal(envOf(agent, 'DAYLOG_URL')?.value, sidecarUrl);
      assert.deepEqual(envOf(agent, 'DAYLOG_TOKEN')?.valueFrom?.secretKeyRef, { name: 'daylog-ingest-token', key: 'token', optional: true });
    });

    it("reads the node's pod logs, and the Docker files they link to, read-only at the paths they have on the node", () => {
      for (const path of ['/var/log/pods', '/var/lib/docker/containers']) {
        const mount = agent.volumeMounts?.find((m) => m.mountPath === path);
        assert.ok(mount, `nothing mounted at ${path}`);
        assert.equal(hostPathOf(mount)?.path, path);
        assert.equal(mount.readOnly, true, `${path} is writable`);
      }
      assert.equal(envOf(agent, 'DAYLOG_PODS_DIR')?.value, '/var/log/pods');
    });

    it("keeps its checkpoints on the node, outside the logs, the only place it may write", () => {
      assert.ok(stateMount && !stateMount.readOnly, `no writable volume holds DAYLOG_STATE_DIR=${stateDir}`);
      assert.deepEqual(hostPathOf(stateMount), { path: '/var/lib/daylog', type: 'DirectoryOrCreate' });
      const writable = agent.volumeMounts?.filter((m) => !m.readOnly).map((m) => m.name);
      assert.deepEqual(writable, [stateMount.name]);
    });

    it('runs as root to read the 0640 root files, with no capability, no escalation and a read-only root filesystem', () => {
      const security = agent.securityContext;
      assert.equal(security?.runAsUser, 0);
      assert.equal(security.allowPrivilegeEscalation, false);
      assert.equal(security.readOnlyRootFilesystem, true);
      assert.deepEqual(security.capabilities, { drop: ['ALL'] });
      assert.notEqual(security.privileged, true);
      assert.ok(!pod.hostNetwork && !pod.hostPID);
    });

    it('runs on every node, whatever its taints, before the pods it serves, updated one node at a time', () => {
      assert.deepEqual(pod.tolerations, [{ operator: 'Exists' }]);
      assert.equal(pod.priorityClassName, 'system-node-critical');
      assert.deepEqual(daemonSet.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    });

    it("probes for liveness at /livez as the sidecar does, and stops within the pod's grace period", () => {
      assert.equal(agent.livenessProbe?.httpGet?.path, '/livez');
      assert.equal(agent.readinessProbe, undefined);
      assert.ok((pod.terminationGracePeriodSeconds ?? 30) > 5, "longer than the shipper's five seconds of flushing on SIGTERM");
    });

    it('requests CPU and memory, with a memory limit fit for a shipper meant to stay under 80 MB', () => {
      const { requests, limits } = agent.resources ?? {};
      assert.ok(requests?.cpu && requests.memory);
      assert.equal(limits?.memory, '128Mi');
      assert.equal(limits.cpu, undefined);
    });
  });
});
