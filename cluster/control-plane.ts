// Starts a real, local Kubernetes control plane without Docker: embedded etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and a fake kubelet (`bmcp kubelet`) on free loopback ports, with
// one fake Node that is Ready, so Deployments become Available. Everything it starts is stopped by stop(), by the
// exit/signal handlers, or by the children's own watchdog when this process dies.
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildControlPlane, type ControlPlaneBinaries } from './build.js';
import { generateCerts, type ControlPlaneCerts } from './certs.js';
import { kubeRequest, waitFor, type KubeEndpoint } from './kube.js';
import { spawnManaged, stopManaged, type ManagedProcess } from './processes.js';

export const FAKE_NODE_NAME = 'fake-node-0';

export interface StartOptions {
  /** Working directory for certificates, etcd data and logs; wiped at start. */
  dir: string;
  /** Where to write the admin kubeconfig; defaults to <dir>/kubeconfig. */
  kubeconfigPath?: string;
  log?: (line: string) => void;
  /** Timeout for the whole start after the binaries exist. */
  timeoutMs?: number;
}

export interface ControlPlane {
  kubeconfigPath: string;
  server: string;
  kubernetesVersion: string;
  binaries: ControlPlaneBinaries;
  dir: string;
  /** Process-group ids of every process started (each child leads its own group). */
  pids: () => number[];
  stop: () => Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function writeKubeconfig(path: string, server: string, certs: ControlPlaneCerts): void {
  const b64 = (file: string): string => readFileSync(file).toString('base64');
  const config = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'beastmode', cluster: { server, 'certificate-authority-data': b64(certs.caCert) } }],
    users: [
      {
        name: 'beastmode-admin',
        user: { 'client-certificate-data': b64(certs.adminCert), 'client-key-data': b64(certs.adminKey) },
      },
    ],
    contexts: [{ name: 'beastmode', context: { cluster: 'beastmode', user: 'beastmode-admin' } }],
    'current-context': 'beastmode',
    preferences: {},
  };
  writeFileSync(path, stringify(config), { mode: 0o600 });
}

function tail(file: string, lines = 30): string {
  if (!existsSync(file)) return '(no log)';
  return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
}

function exitedMessage(p: ManagedProcess): string | undefined {
  return p.hasExited()
    ? `${p.name} exited early; last lines of ${p.logFile}:\n${tail(p.logFile)}`
    : undefined;
}

const CONTROLLERS = [
  'deployment-controller',
  'replicaset-controller',
  'garbage-collector-controller',
  'namespace-controller',
  'horizontal-pod-autoscaler-controller',
  'serviceaccount-controller',
  'serviceaccount-token-controller',
  'root-ca-certificate-publisher-controller',
  'disruption-controller',
  'endpoints-controller',
  'endpointslice-controller',
  'endpointslice-mirroring-controller',
  'statefulset-controller',
  'job-controller',
  'ttl-after-finished-controller',
  'pod-garbage-collector-controller',
];

function fakeNode(name: string): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/role': 'agent',
        'node-role.kubernetes.io/agent': '',
        type: 'fake',
      },
    },
    status: {
      allocatable: { cpu: '64', memory: '256Gi', pods: '500', 'ephemeral-storage': '1Ti' },
      capacity: { cpu: '64', memory: '256Gi', pods: '500', 'ephemeral-storage': '1Ti' },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: 'fake',
        kubeProxyVersion: 'fake',
      },
    },
  };
}

function isReady(obj: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** Builds the binaries if needed (slow only the first time), then starts the control plane. */
export async function startControlPlane(options: StartOptions): Promise<ControlPlane> {
  const log = options.log ?? (() => undefined);
  const binaries = await buildControlPlane({ onProgress: log });
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? 120_000;
  const { dir } = options;
  for (const sub of ['pki', 'etcd', 'logs']) rmSync(join(dir, sub), { recursive: true, force: true });
  for (const sub of ['pki', 'etcd', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  const logs = join(dir, 'logs');
  const kubeconfigPath = options.kubeconfigPath ?? join(dir, 'kubeconfig');

  const certs = await generateCerts(join(dir, 'pki'));
  const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedulerPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  const server = `https://127.0.0.1:${apiPort}`;
  writeKubeconfig(kubeconfigPath, server, certs);
  const endpoint: KubeEndpoint = {
    server,
    caCert: certs.caCert,
    clientCert: certs.adminCert,
    clientKey: certs.adminKey,
  };

  const processes: ManagedProcess[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    // Reverse start order: clients first, etcd last.
    const [etcd, ...rest] = processes;
    await Promise.all(rest.map((p) => stopManaged(p)));
    if (etcd) await stopManaged(etcd);
  };
  const start = (name: string, command: string, args: string[]): ManagedProcess => {
    const p = spawnManaged({ name, command, args, logFile: join(logs, `${name}.log`) });
    processes.push(p);
    return p;
  };

  try {
    const etcd = start('etcd', binaries.bmcp, [
      'etcd',
      `--data-dir=${join(dir, 'etcd')}`,
      `--client-url=http://127.0.0.1:${etcdPort}`,
      `--peer-url=http://127.0.0.1:${etcdPeerPort}`,
    ]);
    await waitFor(
      'etcd to become healthy',
      async () => {
        const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
        return res.ok && ((await res.json()) as { health?: string }).health === 'true';
      },
      timeoutMs,
      { abort: () => exitedMessage(etcd) },
    );
    log(`etcd is healthy (${((Date.now() - started) / 1000).toFixed(1)}s)`);

    const apiserver = start('kube-apiserver', binaries.bmcp, [
      'apiserver',
      `--etcd-servers=http://127.0.0.1:${etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${apiPort}`,
      `--cert-dir=${join(dir, 'pki')}`,
      `--tls-cert-file=${certs.serverCert}`,
      `--tls-private-key-file=${certs.serverKey}`,
      `--client-ca-file=${certs.caCert}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      `--service-account-key-file=${certs.serviceAccountPub}`,
      `--service-account-signing-key-file=${certs.serviceAccountKey}`,
      '--service-cluster-ip-range=10.0.0.0/24',
      '--authorization-mode=RBAC',
      '--allow-privileged=true',
      // Front proxy: lets aggregated API servers (metrics-server) and the components trust the API server.
      `--requestheader-client-ca-file=${certs.caCert}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${certs.proxyClientCert}`,
      `--proxy-client-key-file=${certs.proxyClientKey}`,
      '--profiling=false',
      '--v=1',
    ]);
    await waitFor(
      'kube-apiserver /readyz',
      async () => {
        const res = await kubeRequest(endpoint, 'GET', '/readyz');
        return res.status === 200 && res.body.trim() === 'ok';
      },
      timeoutMs,
      { abort: () => exitedMessage(apiserver), intervalMs: 250 },
    );
    log(`kube-apiserver is ready at ${server} (${((Date.now() - started) / 1000).toFixed(1)}s)`);

    const componentKubeconfig = [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
    ];
    const kcm = start('kube-controller-manager', binaries.bmcp, [
      'controller-manager',
      ...componentKubeconfig,
      `--secure-port=${kcmPort}`,
      `--controllers=${CONTROLLERS.join(',')}`,
      `--service-account-private-key-file=${certs.serviceAccountKey}`,
      `--root-ca-file=${certs.caCert}`,
      '--horizontal-pod-autoscaler-sync-period=5s',
      '--concurrent-gc-syncs=5',
      '--v=1',
    ]);
    const scheduler = start('kube-scheduler', binaries.bmcp, [
      'scheduler',
      ...componentKubeconfig,
      `--secure-port=${schedulerPort}`,
      '--v=1',
    ]);
    const kubelet = start('kubelet', binaries.bmcp, [
      'kubelet',
      `--kubeconfig=${kubeconfigPath}`,
      `--node-name=${FAKE_NODE_NAME}`,
    ]);
    const anyExited = (): string | undefined =>
      exitedMessage(kcm) ?? exitedMessage(scheduler) ?? exitedMessage(kubelet) ?? exitedMessage(apiserver);

    const created = await kubeRequest(endpoint, 'POST', '/api/v1/nodes', fakeNode(FAKE_NODE_NAME));
    if (created.status !== 201 && created.status !== 409) {
      throw new Error(`failed to create Node ${FAKE_NODE_NAME}: HTTP ${created.status} ${created.body}`);
    }
    await waitFor(
      `Node ${FAKE_NODE_NAME} to become Ready (bmcp kubelet)`,
      async () => {
        const res = await kubeRequest(endpoint, 'GET', `/api/v1/nodes/${FAKE_NODE_NAME}`);
        return res.status === 200 && isReady(JSON.parse(res.body) as Parameters<typeof isReady>[0]);
      },
      timeoutMs,
      { abort: anyExited },
    );
    // The API server taints a new Node node.kubernetes.io/not-ready; the node-lifecycle controller, which would
    // lift it, is not run (it would evict pods whenever the heartbeat lags on a busy machine).
    const untainted = await kubeRequest(
      endpoint,
      'PATCH',
      `/api/v1/nodes/${FAKE_NODE_NAME}`,
      { spec: { taints: null } },
      5000,
      'application/merge-patch+json',
    );
    if (untainted.status !== 200) {
      throw new Error(
        `failed to remove the taints of Node ${FAKE_NODE_NAME}: HTTP ${untainted.status} ${untainted.body}`,
      );
    }
    // The controller-manager is serving once it has created the default ServiceAccount.
    await waitFor(
      'the default ServiceAccount (kube-controller-manager)',
      async () =>
        (await kubeRequest(endpoint, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status ===
        200,
      timeoutMs,
      { abort: anyExited },
    );
    log(
      `Node ${FAKE_NODE_NAME} is Ready (${((Date.now() - started) / 1000).toFixed(1)}s after the binaries were ready)`,
    );
  } catch (err) {
    await stop();
    throw err;
  }

  return {
    kubeconfigPath,
    server,
    kubernetesVersion: binaries.kubernetesVersion,
    binaries,
    dir,
    pids: () => processes.filter((p) => !p.hasExited()).map((p) => p.pid),
    stop,
  };
}
