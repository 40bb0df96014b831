// Starts a real, local Kubernetes control plane without Docker: embedded etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and a fake kubelet (`bmcp kubelet`) on free loopback ports, with
// one fake Node that is Ready, so Deployments become Available. Everything it starts is stopped by stop(), by the
// exit/signal handlers, or by the children's own watchdog when this process dies. While it starts, it talks
// to the API server with the project's client (kube/client.ts) and the admin certificate of the kubeconfig
// it has just written.
import { createServer } from 'node:net';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { buildControlPlane, type ControlPlaneBinaries } from './build.js';
import { generateCerts, type ControlPlaneCerts } from './certs.js';
import { isConflict, KubeApiError, KubeClient, type KubeObject } from '../kube/client.js';
import { R } from '../kube/resources.js';
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

/** Polls check() every intervalMs until it returns true; throws describe() after timeoutMs. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  options: { intervalMs?: number; abort?: () => string | undefined } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const aborted = options.abort?.();
    if (aborted !== undefined) throw new Error(`${what}: ${aborted}`);
    try {
      if (await check()) return;
    } catch (err) {
      lastError = (err as Error).message;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs / 1000}s waiting for ${what}${lastError ? ` (${lastError})` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 200));
  }
}

function isReady(obj: { status?: { conditions?: { type: string; status: string }[] } }): boolean {
  return obj.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/** What each start step needs: where things go, how long to wait, how to start and log a process. */
interface Launch {
  binaries: ControlPlaneBinaries;
  dir: string;
  certs: ControlPlaneCerts;
  kubeconfigPath: string;
  timeoutMs: number;
  log: (line: string) => void;
  since: () => string;
  start: (name: string, command: string, args: string[]) => ManagedProcess;
}

async function startEtcd(l: Launch, etcdPort: number, etcdPeerPort: number): Promise<void> {
  const etcd = l.start('etcd', l.binaries.bmcp, [
    'etcd',
    `--data-dir=${join(l.dir, 'etcd')}`,
    `--client-url=http://127.0.0.1:${etcdPort}`,
    `--peer-url=http://127.0.0.1:${etcdPeerPort}`,
  ]);
  await waitFor(
    'etcd to become healthy',
    async () => {
      const res = await fetch(`http://127.0.0.1:${etcdPort}/health`);
      return res.ok && ((await res.json()) as { health?: string }).health === 'true';
    },
    l.timeoutMs,
    { abort: () => exitedMessage(etcd) },
  );
  l.log(`etcd is healthy (${l.since()})`);
}

async function startApiServer(
  l: Launch,
  client: KubeClient,
  etcdPort: number,
  apiPort: number,
): Promise<ManagedProcess> {
  const { certs } = l;
  const apiserver = l.start('kube-apiserver', l.binaries.bmcp, [
    'apiserver',
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${join(l.dir, 'pki')}`,
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
      try {
        return (await client.getText('/readyz')).trim() === 'ok';
      } catch (e) {
        // Not ready yet (it lists the failing checks); a connection error is kept for the timeout message.
        if (e instanceof KubeApiError) return false;
        throw e;
      }
    },
    l.timeoutMs,
    { abort: () => exitedMessage(apiserver), intervalMs: 250 },
  );
  return apiserver;
}

/** kube-controller-manager, kube-scheduler and the fake kubelet, all with the admin kubeconfig. */
function startComponents(l: Launch, kcmPort: number, schedulerPort: number): ManagedProcess[] {
  const componentKubeconfig = [
    `--kubeconfig=${l.kubeconfigPath}`,
    `--authentication-kubeconfig=${l.kubeconfigPath}`,
    `--authorization-kubeconfig=${l.kubeconfigPath}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
  ];
  const kcm = l.start('kube-controller-manager', l.binaries.bmcp, [
    'controller-manager',
    ...componentKubeconfig,
    `--secure-port=${kcmPort}`,
    `--controllers=${CONTROLLERS.join(',')}`,
    `--service-account-private-key-file=${l.certs.serviceAccountKey}`,
    `--root-ca-file=${l.certs.caCert}`,
    '--horizontal-pod-autoscaler-sync-period=5s',
    '--concurrent-gc-syncs=5',
    '--v=1',
  ]);
  const scheduler = l.start('kube-scheduler', l.binaries.bmcp, [
    'scheduler',
    ...componentKubeconfig,
    `--secure-port=${schedulerPort}`,
    '--v=1',
  ]);
  const kubelet = l.start('kubelet', l.binaries.bmcp, [
    'kubelet',
    `--kubeconfig=${l.kubeconfigPath}`,
    `--node-name=${FAKE_NODE_NAME}`,
  ]);
  return [kcm, scheduler, kubelet];
}

/** Registers the fake Node, waits for the fake kubelet to make it Ready, and lifts its taints. */
async function registerFakeNode(
  client: KubeClient,
  timeoutMs: number,
  anyExited: () => string | undefined,
): Promise<void> {
  try {
    await client.create(R.Node, fakeNode(FAKE_NODE_NAME) as KubeObject);
  } catch (e) {
    if (!isConflict(e)) throw new Error(`failed to create Node ${FAKE_NODE_NAME}: ${(e as Error).message}`);
  }
  await waitFor(
    `Node ${FAKE_NODE_NAME} to become Ready (bmcp kubelet)`,
    async () => isReady((await client.get(R.Node, '', FAKE_NODE_NAME)) as Parameters<typeof isReady>[0]),
    timeoutMs,
    { abort: anyExited },
  );
  // The API server taints a new Node node.kubernetes.io/not-ready; the node-lifecycle controller, which would
  // lift it, is not run (it would evict pods whenever the heartbeat lags on a busy machine).
  try {
    await client.mergePatch(R.Node, '', FAKE_NODE_NAME, { spec: { taints: null } });
  } catch (e) {
    throw new Error(`failed to remove the taints of Node ${FAKE_NODE_NAME}: ${(e as Error).message}`);
  }
}

/** The processes of one control plane, each logging to <logs>/<name>.log; stopped in reverse order. */
function processGroup(logs: string): Pick<Launch, 'start'> & Pick<ControlPlane, 'pids' | 'stop'> {
  const processes: ManagedProcess[] = [];
  let stopped = false;
  return {
    start: (name, command, args) => {
      const p = spawnManaged({ name, command, args, logFile: join(logs, `${name}.log`) });
      processes.push(p);
      return p;
    },
    pids: () => processes.filter((p) => !p.hasExited()).map((p) => p.pid),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      // Reverse start order: clients first, etcd last.
      const [etcd, ...rest] = processes;
      await Promise.all(rest.map((p) => stopManaged(p)));
      if (etcd) await stopManaged(etcd);
    },
  };
}

/** Builds the binaries if needed (slow only the first time), then starts the control plane. */
export async function startControlPlane(options: StartOptions): Promise<ControlPlane> {
  const log = options.log ?? (() => undefined);
  const binaries = await buildControlPlane({ onProgress: log });
  const started = Date.now();
  const { dir } = options;
  for (const sub of ['pki', 'etcd', 'logs']) rmSync(join(dir, sub), { recursive: true, force: true });
  for (const sub of ['pki', 'etcd', 'logs']) mkdirSync(join(dir, sub), { recursive: true });
  const kubeconfigPath = options.kubeconfigPath ?? join(dir, 'kubeconfig');

  const certs = await generateCerts(join(dir, 'pki'));
  const [etcdPort, etcdPeerPort, apiPort, kcmPort, schedulerPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const server = `https://127.0.0.1:${apiPort}`;
  writeKubeconfig(kubeconfigPath, server, certs);
  // Each request gives up after 5 s: the polls below must reach their own deadlines even if a server hangs.
  const client = KubeClient.fromFile(kubeconfigPath, { requestTimeoutMs: 5000 });

  const group = processGroup(join(dir, 'logs'));
  const launch: Launch = {
    binaries,
    dir,
    certs,
    kubeconfigPath,
    timeoutMs: options.timeoutMs ?? 120_000,
    log,
    since: () => `${((Date.now() - started) / 1000).toFixed(1)}s`,
    start: group.start,
  };

  try {
    await startEtcd(launch, etcdPort, etcdPeerPort);
    const apiserver = await startApiServer(launch, client, etcdPort, apiPort);
    log(`kube-apiserver is ready at ${server} (${launch.since()})`);
    const components = startComponents(launch, kcmPort, schedulerPort);
    const anyExited = (): string | undefined =>
      components.map(exitedMessage).find((m) => m !== undefined) ?? exitedMessage(apiserver);
    await registerFakeNode(client, launch.timeoutMs, anyExited);
    // The controller-manager is serving once it has created the default ServiceAccount.
    await waitFor(
      'the default ServiceAccount (kube-controller-manager)',
      async () => (await client.get(R.ServiceAccount, 'default', 'default')).metadata.name === 'default',
      launch.timeoutMs,
      { abort: anyExited },
    );
    log(`Node ${FAKE_NODE_NAME} is Ready (${launch.since()} after the binaries were ready)`);
  } catch (err) {
    await group.stop();
    throw err;
  }

  return {
    kubeconfigPath,
    server,
    kubernetesVersion: binaries.kubernetesVersion,
    binaries,
    dir,
    pids: group.pids,
    stop: group.stop,
  };
}
