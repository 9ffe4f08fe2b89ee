import { ServerResponse, createServer } from 'node:http';
import { ConfigError, ShipperConfig, loadShipperConfig } from '@daylog/config/shipper';
import { AggregatorClient, CheckpointStore, DeliveryHealth, NodeAgent, Shipper, ShipperMetrics, logEvent } from '@daylog/shipper';

// The sidecar is plain wiring without Nest: an empty Nest application context alone takes ~76 MB
// of RSS here (bare Node: ~39 MB), and the shipper must stay well under 80 MB.

function configOrExit(): ShipperConfig {
  try {
    return loadShipperConfig(process.env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

const json = (response: ServerResponse, status: number, body: object) =>
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));

/**
 * /livez: the process serves (for a liveness probe: a restart fixes neither a wrong token nor a
 * down aggregator). /healthz: lines are getting through, else 503 with why and since when.
 */
function serveMetrics(port: number, metrics: ShipperMetrics, health: DeliveryHealth): void {
  createServer((request, response) => {
    if (request.url === '/metrics') {
      response.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(metrics.toPrometheus());
    } else if (request.url === '/livez') {
      json(response, 200, { status: 'ok' });
    } else if (request.url === '/healthz') {
      const status = health.status();
      json(response, status.status === 'ok' ? 200 : 503, status);
    } else {
      response.writeHead(404).end();
    }
  })
    .on('error', (error) => logEvent('metrics_unavailable', { port, error: error.message }))
    .listen(port)
    .unref();
}

async function main(): Promise<void> {
  const config = configOrExit();
  const metrics = new ShipperMetrics();
  const health = new DeliveryHealth(metrics);
  const parts = [config, new AggregatorClient(config, metrics, health), new CheckpointStore(config.stateDir), metrics] as const;
  const shipper = config.pods ? new NodeAgent(...parts) : new Shipper(...parts);
  if (config.metricsPort !== null) serveMetrics(config.metricsPort, metrics, health);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logEvent('stopping', { signal });
      void shipper.stop().then(() => process.exit(0));
    });
  }
  if (config.pods) {
    const { podsDir, ownPodUid, nodeName } = config.pods;
    // Without POD_UID the agent cannot tell its own pod's log from others', and would ship its own lines.
    const own = ownPodUid === null ? { pod_uid: 'unset: the agent collects its own log too' } : { pod_uid: ownPodUid };
    logEvent('started', { mode: 'node', url: config.url, pods_dir: podsDir, node: nodeName, ...own, state_dir: config.stateDir });
  } else {
    logEvent('started', { mode: 'sidecar', url: config.url, files: config.files, state_dir: config.stateDir });
  }
  await shipper.run();
}

main().catch((error: Error) => {
  logEvent('failed', { error: error.stack ?? error.message });
  process.exit(1);
});
