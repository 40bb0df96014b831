// The gateway as the operator deploys it, against a real API server: the operator renders a gateway's
// Deployment, ConfigMap, Role and RoleBinding; the gateway runs as a local process with the Deployment's
// arguments and a kubeconfig holding its own ServiceAccount's token (so the Role's resourceNames rule on its
// ConfigMap is what lets it read, and nothing lets it read a Secret), takes its backend credential from the
// Secret volume's file (the harness plays the kubelet, which the local cluster's fake one does not), keeps
// working when the Secret and the upstream's key rotate (no restart), follows a route change in its
// ConfigMap within ~1 s, and decides a quality-cost route with the router model of a ConfigMap its Role names
// (swapped on change, a bad change refused).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { eventually, kubectl, kubectlOk as ok, kubeconfigPath, repoRoot } from './harness/env.js';
import { startOperator, type OperatorProcess } from '../bench/operator/process.js';
import { KubeClient } from '../kube/client.js';
import { R } from '../kube/resources.js';
import { GATEWAY_CONFIG_KEY, type GatewayConfig } from '../api/v1alpha1/index.js';
import { QUALITY_COST_V1 } from '../gateway/src/routing/models/quality-cost-v1.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { SecretVolumes, startGatewayProcess, type GatewayProcess } from './harness/gateway-pod.js';
import { canI, serviceAccountUser } from './harness/rbac.js';

const TIMEOUT_MS = 180_000;
const ns = `e2e-gwic-${Date.now().toString(36)}`;
const KEY_1 = 'sk-e2e-first-key-0000000000';
const KEY_2 = 'sk-e2e-rotated-key-111111111';
let client: KubeClient;
let operator: OperatorProcess | undefined;
let sim: Simulator | undefined;
let gateway: GatewayProcess | undefined;
let volumes: SecretVolumes | undefined;
let gatewayUrl = '';

const apply = (
  obj: { metadata: { name: string; namespace?: string } } & Record<string, unknown>,
  r: (typeof R)[keyof typeof R],
) => client.apply(r, obj, 'e2e');

const secret = (key: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'sim-creds', namespace: ns },
  stringData: { apiKey: key },
});

const route = (name: string, model: string, simUrl: string) => ({
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelRoute',
  metadata: { name, namespace: ns },
  spec: {
    gatewayRef: { name: 'main' },
    model,
    backends: [
      {
        name: 'sim',
        url: `${simUrl}/v1`,
        provider: 'openai-compatible',
        model: 'sim-model',
        credentialsSecretRef: { name: 'sim-creds', key: 'apiKey' },
        weight: 1,
      },
    ],
  },
});

async function chat(model: string): Promise<number> {
  const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }),
  });
  await res.arrayBuffer();
  return res.status;
}

async function configMapRoutes(): Promise<string[]> {
  const cm = await client.get(R.ConfigMap, ns, 'main-gateway-config').catch(() => undefined);
  const data = (cm?.data as Record<string, string> | undefined)?.[GATEWAY_CONFIG_KEY];
  return data ? (JSON.parse(data) as GatewayConfig).routes.map((r) => r.model) : [];
}

/** A kubeconfig for the gateway's ServiceAccount: the cluster of the admin kubeconfig, a bound token. */
async function serviceAccountKubeconfig(): Promise<string> {
  const token = (await ok(['create', 'token', 'main-gateway', '-n', ns, '--duration', '1h'])).trim();
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster');
  const file = join(mkdtempSync(join(tmpdir(), 'gw-sa-')), 'kubeconfig');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'c',
          cluster: {
            server: cluster.server,
            ...(cluster.caData ? { 'certificate-authority-data': cluster.caData } : {}),
            ...(cluster.caFile ? { 'certificate-authority': cluster.caFile } : {}),
            ...(cluster.skipTLSVerify ? { 'insecure-skip-tls-verify': true } : {}),
          },
        },
      ],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'c', user: 'sa', namespace: ns } }],
      'current-context': 'sa',
    }),
  );
  return file;
}

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await ok(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  await ok(['create', 'namespace', ns]);
  operator = await startOperator({
    repoRoot,
    kubeconfig: kubeconfigPath(),
    port: 18091,
    identity: 'op-gwic',
    args: ['--no-leader-elect', '--namespaces', ns, '--log-level', 'info'],
  });
}, TIMEOUT_MS);

afterAll(async () => {
  await gateway?.stop();
  volumes?.stop();
  await sim?.close();
  await operator?.stop('SIGTERM');
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
}, TIMEOUT_MS);

test(
  'the gateway reads its ConfigMap through the API server and its credential from the mounted Secret, and follows rotations',
  async () => {
    sim = await startSimulator({ port: 0, apiKey: KEY_1 });
    const simPort = new URL(sim.url).port;
    await apply(secret(KEY_1), R.Secret);
    await apply(
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'ModelGateway',
        metadata: { name: 'main', namespace: ns },
        // The simulators listen on loopback, which the egress policy refuses unless allowed.
        spec: { replicas: 1, egress: { allow: ['127.0.0.0/8'] } },
      },
      R.ModelGateway,
    );
    await apply(route('chat', 'chat', sim.url), R.ModelRoute);
    await eventually('the ConfigMap to hold the route', async () =>
      (await configMapRoutes()).includes('chat') ? true : undefined,
    );
    await eventually('the RoleBinding', () =>
      client.get(R.RoleBinding, ns, 'main-gateway').catch(() => undefined),
    );
    // The gateway's ServiceAccount reads its ConfigMap and no Secret, not even the one it uses.
    const sa = serviceAccountUser(ns, 'main-gateway');
    expect(await canI(sa, 'get', 'configmaps/main-gateway-config', { namespace: ns })).toBe(true);
    expect(await canI(sa, 'get', 'secrets/sim-creds', { namespace: ns })).toBe(false);
    expect(await canI(sa, 'list', 'secrets', { namespace: ns })).toBe(false);

    const deployment = await eventually('the Deployment mounting sim-creds', async () => {
      const d = await client.get(R.Deployment, ns, 'main-gateway').catch(() => undefined);
      return JSON.stringify(d?.spec).includes('"secretName":"sim-creds"') ? d : undefined;
    });
    volumes = new SecretVolumes(client, ns, 'main-gateway');
    volumes.start();
    await eventually('the Secret volume written', () =>
      volumes?.written.has('sim-creds') ? true : undefined,
    );
    const port = 18000 + Math.floor(Math.random() * 1000);
    gateway = startGatewayProcess({
      deployment,
      volumes,
      kubeconfig: await serviceAccountKubeconfig(),
      port,
      // No BEASTMODE_SECRET_* variables: the mounted files are the only source.
      env: { BEASTMODE_POLICY: 'off' },
    });
    gatewayUrl = gateway.url;
    await eventually('the gateway to be ready', async () =>
      (await fetch(`${gatewayUrl}/readyz`)).ok ? true : undefined,
    );

    // The credential comes from the Secret's file.
    expect(await chat('chat')).toBe(200);
    expect(sim.stats().last?.headers.authorization).toBe(`Bearer ${KEY_1}`);

    // Rotation: the upstream's key changes (now the old one is refused), then the Secret follows.
    await sim.close();
    sim = await startSimulator({ port: Number(simPort), apiKey: KEY_2 });
    expect(await chat('chat')).toBe(401);
    const rotated = Date.now();
    await apply(secret(KEY_2), R.Secret);
    const before = volumes.written.get('sim-creds') ?? 0;
    await eventually(
      'the rotated key to be used',
      async () => ((await chat('chat')) === 200 ? true : undefined),
      10_000,
      20,
    );
    const servedAt = Date.now();
    const fileAt = volumes.written.get('sim-creds') ?? 0;
    expect(fileAt).toBeGreaterThan(before);
    const rotationMs = servedAt - rotated;
    const gatewayPartMs = servedAt - fileAt;
    expect(sim.stats().last?.headers.authorization).toBe(`Bearer ${KEY_2}`);
    expect(gateway.output.join('')).not.toContain(KEY_1);
    expect(gateway.output.join('')).not.toContain(KEY_2);

    // A route change: ConfigMap written by the operator → served by the gateway.
    expect(await chat('chat-2')).toBe(404);
    const applied = Date.now();
    await apply(route('chat-2', 'chat-2', sim.url), R.ModelRoute);
    let cmAt = 0;
    let gwAt = 0;
    await eventually(
      'the new route in the ConfigMap and the gateway',
      async () => {
        const [routes, status] = await Promise.all([configMapRoutes(), chat('chat-2')]);
        const now = Date.now();
        if (cmAt === 0 && routes.includes('chat-2')) cmAt = now;
        if (gwAt === 0 && status === 200) gwAt = now;
        return cmAt > 0 && gwAt > 0 ? true : undefined;
      },
      30_000,
      20,
    );
    const cmToGatewayMs = Math.max(0, gwAt - cmAt);
    process.stdout.write(
      `gateway-incluster: secret rotation → served ${rotationMs} ms (kubelet stand-in wrote the file after ` +
        `${fileAt - rotated} ms, the gateway used it ${gatewayPartMs} ms later); route apply → ConfigMap ` +
        `${cmAt - applied} ms, → gateway ${gwAt - applied} ms (ConfigMap → gateway ≤ ${cmToGatewayMs} ms)\n`,
    );
    expect(cmToGatewayMs).toBeLessThan(1000);
    // The gateway's own part: one poll of the files (1 s) and the request that sees it.
    expect(gatewayPartMs).toBeLessThan(1500);
    expect(gateway.child.exitCode).toBeNull();
  },
  TIMEOUT_MS,
);

const routerModel = (version: string) =>
  JSON.stringify({ ...(JSON.parse(QUALITY_COST_V1) as object), version });

const routerConfigMap = (text: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'team-router', namespace: ns },
  data: { 'model.json': text },
});

/** Why the gateway chose the backend of a prompt on model "smart". */
async function reason(): Promise<string> {
  const res = await fetch(`${gatewayUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'smart', messages: [{ role: 'user', content: 'What is 2 + 2?' }] }),
  });
  await res.arrayBuffer();
  return res.headers.get('x-beastmode-route-reason') ?? `status ${res.status}`;
}

test(
  "a route's router model comes from a ConfigMap the gateway may read: loaded, swapped, a bad change refused",
  async () => {
    await apply(routerConfigMap(routerModel('team-1')), R.ConfigMap);
    const smart = route('smart', 'smart', sim?.url ?? '');
    const backend = smart.spec.backends[0] as Record<string, unknown>;
    smart.spec.backends = [
      { ...backend, name: 'big' },
      { ...backend, name: 'small' },
    ] as typeof smart.spec.backends;
    await apply(
      {
        ...smart,
        spec: {
          ...smart.spec,
          selection: {
            policy: 'quality-cost',
            qualityCost: {
              strongBackend: 'big',
              weakBackend: 'small',
              targetQuality: 0.95,
              model: { configMapRef: { name: 'team-router' } },
            },
          },
        },
      },
      R.ModelRoute,
    );
    await eventually(
      'the ConfigMap model to decide',
      async () => ((await reason()).includes('router team-1') ? true : undefined),
      30_000,
    );
    // The Role the operator rendered names that ConfigMap, and no other.
    const sa = serviceAccountUser(ns, 'main-gateway');
    expect(await canI(sa, 'get', 'configmaps/team-router', { namespace: ns })).toBe(true);
    expect(await canI(sa, 'get', 'configmaps/someone-else', { namespace: ns })).toBe(false);

    // Not a model: refused, the last good one keeps deciding.
    await apply(routerConfigMap('{"kind": "something else"}'), R.ConfigMap);
    await eventually('the refusal counted', async () =>
      (await (await fetch(`${gatewayUrl}/metrics`)).text()).includes(
        'beastmode_router_model_loads_total{result="refused"} 1',
      )
        ? true
        : undefined,
    );
    expect(await reason()).toContain('router team-1');

    // A new version: swapped without a restart.
    const changed = Date.now();
    await apply(routerConfigMap(routerModel('team-2')), R.ConfigMap);
    await eventually(
      'the new model to decide',
      async () => ((await reason()).includes('router team-2') ? true : undefined),
      10_000,
      20,
    );
    process.stdout.write(
      `gateway-incluster: router model ConfigMap change → decides ${Date.now() - changed} ms\n`,
    );
    const metrics = await (await fetch(`${gatewayUrl}/metrics`)).text();
    expect(metrics).toContain('kind="quality-cost",version="team-2"');
    expect(gateway?.child.exitCode).toBeNull();
  },
  TIMEOUT_MS,
);
