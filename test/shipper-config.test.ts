import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, loadShipperConfig } from '@daylog/config/shipper';

const SIDECAR = { DAYLOG_URL: 'http://daylog:8080', DAYLOG_STATE_DIR: '/var/lib/daylog-shipper', POD_NAME: 'web-1' };
const NODE_AGENT = { DAYLOG_URL: 'http://daylog:8080', DAYLOG_STATE_DIR: '/var/lib/daylog', DAYLOG_PODS_DIR: '/var/log/pods' };
const UID = '3f5c2a4e-8b1d-4c6f-9e2a-7d0b1c3e5f68';

/** The one line a ConfigError says when loading `env`. */
function refusal(env: Record<string, string>): string {
  try {
    loadShipperConfig(env);
  } catch (error) {
    assert.ok(error instanceof ConfigError, String(error));
    assert.ok(!error.message.includes('\n'), error.message);
    return error.message;
  }
  assert.fail(`${JSON.stringify(env)} was accepted`);
}

describe('shipper settings: the sidecar or the node agent', () => {
  it('is the sidecar without DAYLOG_PODS_DIR: its files, with its pod as their labels', () => {
    const config = loadShipperConfig({ ...SIDECAR, POD_NAMESPACE: 'shop', CONTAINER_NAME: 'nginx' });
    assert.equal(config.pods, null);
    assert.deepEqual(config.files, ['/var/log/nginx/*.log']);
    assert.deepEqual(config.labels, { namespace: 'shop', pod: 'web-1', container: 'nginx' });
  });

  it('is the node agent with DAYLOG_PODS_DIR, needing no files nor pod name, collecting every namespace by default', () => {
    const config = loadShipperConfig(NODE_AGENT);
    assert.deepEqual(config.pods, {
      podsDir: '/var/log/pods',
      namespaces: ['*'],
      excludeNamespaces: [],
      ownPodUid: null,
      nodeName: null,
      multiline: 'off',
      skipOlderThanMs: 24 * 3_600_000,
      maxDeletedFiles: 100,
    });
    assert.deepEqual(config.files, []);
    assert.deepEqual(config.labels, { namespace: null, pod: '', container: null });
    assert.equal(config.stateDir, '/var/lib/daylog');
    assert.equal(config.startAt, 'beginning');
  });

  it("takes the node agent's settings: namespace globs, its own pod and node, stack traces, how old a line may be, where to start", () => {
    const config = loadShipperConfig({
      ...NODE_AGENT,
      DAYLOG_PODS_DIR: '/var/log/pods/',
      DAYLOG_NAMESPACES: 'shop, team-*,*-prod',
      DAYLOG_EXCLUDE_NAMESPACES: 'kube-*',
      POD_UID: UID,
      NODE_NAME: 'node-a',
      DAYLOG_MULTILINE: 'stacktrace',
      DAYLOG_SKIP_OLDER_THAN: '48h',
      DAYLOG_MAX_DELETED_FILES: '20',
      DAYLOG_START_AT: 'end',
      // The Downward API gives the agent these too: not needed, not refused.
      POD_NAME: 'daylog-node-agent-x2k4q',
      POD_NAMESPACE: 'default',
    });
    assert.deepEqual(config.pods, {
      podsDir: '/var/log/pods',
      namespaces: ['shop', 'team-*', '*-prod'],
      excludeNamespaces: ['kube-*'],
      ownPodUid: UID,
      nodeName: 'node-a',
      multiline: 'stacktrace',
      skipOlderThanMs: 48 * 3_600_000,
      maxDeletedFiles: 20,
    });
    assert.equal(config.startAt, 'end');
    // A static pod is known by the config hash its log directory is named after.
    assert.equal(loadShipperConfig({ ...NODE_AGENT, POD_UID: '49cc7c1fd3702c40b2686ea7486091d6' }).pods?.ownPodUid, '49cc7c1fd3702c40b2686ea7486091d6');
  });

  const NAMESPACES_HINT = 'expected comma-separated namespace names or globs (lowercase letters, digits, - and * for any run of characters), e.g. shop,team-*';
  const UID_HINT = "expected the agent pod's UID (Downward API: fieldRef metadata.uid), e.g. 3f5c2a4e-8b1d-4c6f-9e2a-7d0b1c3e5f68, or leave it unset outside Kubernetes";
  const NODE_ONLY = 'applies only to the node agent (DAYLOG_PODS_DIR set), not to the sidecar (DAYLOG_FILES)';
  const refused: [string, Record<string, string>, string][] = [
    [
      'both modes at once',
      { ...NODE_AGENT, DAYLOG_FILES: '/var/log/app/*.log' },
      `DAYLOG_FILES="/var/log/app/*.log" is not valid: set DAYLOG_FILES (the sidecar: a pod's files) or DAYLOG_PODS_DIR (the node agent: every container's log), not both; DAYLOG_PODS_DIR is /var/log/pods`,
    ],
    ['an empty pods directory', { ...NODE_AGENT, DAYLOG_PODS_DIR: ' ' }, `DAYLOG_PODS_DIR=" " is not valid: expected the directory of the pods' logs, e.g. /var/log/pods, or leave it unset for the sidecar`],
    [
      'no state directory',
      { DAYLOG_URL: 'http://daylog:8080', DAYLOG_PODS_DIR: '/var/log/pods' },
      `DAYLOG_STATE_DIR="" is not valid: expected a directory for the shipper's checkpoints that survives its restarts, outside DAYLOG_PODS_DIR (in Kubernetes a hostPath, e.g. /var/lib/daylog)`,
    ],
    [
      'the state inside the pods directory',
      { ...NODE_AGENT, DAYLOG_STATE_DIR: '/var/log/pods/daylog' },
      `DAYLOG_STATE_DIR="/var/log/pods/daylog" is not valid: expected a directory for the shipper's checkpoints that survives its restarts, outside DAYLOG_PODS_DIR (in Kubernetes a hostPath, e.g. /var/lib/daylog)`,
    ],
    ['an empty namespace between commas', { ...NODE_AGENT, DAYLOG_NAMESPACES: 'shop,,payments' }, `DAYLOG_NAMESPACES="shop,,payments" is not valid: ${NAMESPACES_HINT}`],
    ['a trailing comma', { ...NODE_AGENT, DAYLOG_EXCLUDE_NAMESPACES: 'kube-system,' }, `DAYLOG_EXCLUDE_NAMESPACES="kube-system," is not valid: ${NAMESPACES_HINT}`],
    ['an empty list', { ...NODE_AGENT, DAYLOG_NAMESPACES: '' }, `DAYLOG_NAMESPACES="" is not valid: ${NAMESPACES_HINT}`],
    ['a namespace no Kubernetes namespace can be', { ...NODE_AGENT, DAYLOG_NAMESPACES: 'Shop' }, `DAYLOG_NAMESPACES="Shop" is not valid: ${NAMESPACES_HINT}`],
    ['a regular expression for a glob', { ...NODE_AGENT, DAYLOG_EXCLUDE_NAMESPACES: 'kube-.*' }, `DAYLOG_EXCLUDE_NAMESPACES="kube-.*" is not valid: ${NAMESPACES_HINT}`],
    ['the field path for the UID', { ...NODE_AGENT, POD_UID: 'metadata.uid' }, `POD_UID="metadata.uid" is not valid: ${UID_HINT}`],
    ['an empty UID', { ...NODE_AGENT, POD_UID: '' }, `POD_UID="" is not valid: ${UID_HINT}`],
    ['an empty node name', { ...NODE_AGENT, NODE_NAME: '' }, `NODE_NAME="" is not valid: expected the node's name (Downward API: fieldRef spec.nodeName), or leave it unset`],
    ['an unknown multiline mode', { ...NODE_AGENT, DAYLOG_MULTILINE: 'java' }, 'DAYLOG_MULTILINE="java" is not valid: expected off or stacktrace (stack trace lines joined to the line they follow)'],
    ['a line age that is not a duration', { ...NODE_AGENT, DAYLOG_SKIP_OLDER_THAN: 'a day' }, 'DAYLOG_SKIP_OLDER_THAN="a day" is not valid: expected a positive duration such as 90s, 15m, 2h or 1d'],
    ['the sidecar without its pod name', { ...SIDECAR, POD_NAME: '' }, `POD_NAME="" is not valid: expected the pod's name (Downward API: fieldRef metadata.name)`],
    ['namespaces for the sidecar', { ...SIDECAR, DAYLOG_NAMESPACES: 'shop' }, `DAYLOG_NAMESPACES="shop" is not valid: ${NODE_ONLY}`],
    ['excluded namespaces for the sidecar', { ...SIDECAR, DAYLOG_EXCLUDE_NAMESPACES: 'kube-*' }, `DAYLOG_EXCLUDE_NAMESPACES="kube-*" is not valid: ${NODE_ONLY}`],
    ['stack traces for the sidecar', { ...SIDECAR, DAYLOG_MULTILINE: 'stacktrace' }, `DAYLOG_MULTILINE="stacktrace" is not valid: ${NODE_ONLY}`],
    ['a line age for the sidecar', { ...SIDECAR, DAYLOG_SKIP_OLDER_THAN: '24h' }, `DAYLOG_SKIP_OLDER_THAN="24h" is not valid: ${NODE_ONLY}`],
    ['no deleted file held at all', { ...NODE_AGENT, DAYLOG_MAX_DELETED_FILES: '0' }, 'DAYLOG_MAX_DELETED_FILES="0" is not valid: expected a whole number from 1 to 100000'],
    ['a bound on deleted files for the sidecar', { ...SIDECAR, DAYLOG_MAX_DELETED_FILES: '10' }, `DAYLOG_MAX_DELETED_FILES="10" is not valid: ${NODE_ONLY}`],
  ];
  for (const [what, env, line] of refused) {
    it(`refuses ${what} in one line naming the variable`, () => assert.equal(refusal(env), line));
  }
});
