// Least privilege, proven against the real API server. The chart's RBAC is applied as `helm template`
// renders it; the operator runs as its ServiceAccount (impersonation: the admin's certificate plus
// `as: system:serviceaccount:…` in its kubeconfig) in the chart's namespace-scoped mode
// (operator.watchNamespaces); a gateway runs as a local process with its rendered Deployment's arguments, as
// the gateway's ServiceAccount, with the harness playing the kubelet for its Secret volumes. `kubectl auth
// can-i` says neither may read a Secret, and everything still works: a gateway and a route become Ready, a
// rotated provider credential is used without a restart, a missing one is reported on the route and heals,
// and a canary is promoted step by step.
import { eventually, kubectl, kubectlOk as ok, kubeconfigPath, repoRoot } from './harness/env.js';
import { join } from 'node:path';
import { startOperator, type OperatorProcess } from '../bench/operator/process.js';
import { KubeClient, type KubeObject } from '../kube/client.js';
import { R } from '../kube/resources.js';
import type { CanaryStatus } from '../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { SecretVolumes, startGatewayProcess, type GatewayProcess } from './harness/gateway-pod.js';
import {
  applyChartRbac,
  canI,
  impersonatingKubeconfig,
  serviceAccountUser,
  type ChartRbac,
} from './harness/rbac.js';

const TIMEOUT_MS = 180_000;
const id = Date.now().toString(36);
/** The watched namespace (namespace-scoped install), and another one the operator must not reach. */
const ns = `e2e-rbac-${id}`;
const elsewhere = `e2e-rbac-other-${id}`;
const KEY_1 = 'sk-rbac-first-key-000000000';
const KEY_2 = 'sk-rbac-rotated-key-11111111';
const GATEWAY_PORT = 18900 + Math.floor(Math.random() * 90);
let client: KubeClient;
let scoped: ChartRbac;
let clusterWide: ChartRbac;
let operator: OperatorProcess | undefined;
let gateway: GatewayProcess | undefined;
let volumes: SecretVolumes | undefined;
const sims: Simulator[] = [];

const apply = (obj: KubeObject, r: (typeof R)[keyof typeof R]) => client.apply(r, obj, 'e2e');

const secret = (name: string, apiKey: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: ns },
  stringData: { apiKey },
});

const backend = (sim: Simulator, secretName: string) => ({
  name: 'sim',
  url: `${sim.url}/v1`,
  provider: 'openai-compatible',
  model: 'sim-model',
  credentialsSecretRef: { name: secretName, key: 'apiKey' },
});

const route = (name: string, model: string, backends: unknown[]): KubeObject => ({
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelRoute',
  metadata: { name, namespace: ns },
  spec: { gatewayRef: { name: 'main' }, model, backends },
});

function readyCondition(o: KubeObject | undefined) {
  const conds = (
    o?.status as { conditions?: { type: string; status: string; reason: string; message: string }[] }
  )?.conditions;
  return conds?.find((c) => c.type === 'Ready');
}

async function chat(model: string): Promise<number> {
  const res = await fetch(`${gateway?.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 4 }),
  });
  await res.arrayBuffer();
  return res.status;
}

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await ok(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  await ok(['create', 'namespace', ns]);
  await ok(['create', 'namespace', elsewhere]);
  scoped = await applyChartRbac({ release: ns, namespace: ns, set: [`operator.watchNamespaces={${ns}}`] });
  clusterWide = await applyChartRbac({ release: elsewhere, namespace: elsewhere });
}, TIMEOUT_MS);

afterAll(async () => {
  await operator?.stop('SIGTERM');
  await gateway?.stop();
  volumes?.stop();
  for (const s of sims) await s.close().catch(() => undefined);
  await scoped?.remove();
  await clusterWide?.remove();
  await kubectl(['delete', 'namespace', ns, elsewhere, '--wait=false']);
}, TIMEOUT_MS);

describe('least privilege under the chart RBAC', () => {
  test(
    'kubectl auth can-i: the operator may read no Secret, cluster-wide or in a watched namespace',
    async () => {
      // The default install: a ClusterRole, and still no Secret anywhere.
      const op = clusterWide.user;
      for (const verb of ['get', 'list', 'watch']) expect(await canI(op, verb, 'secrets', 'all')).toBe(false);
      expect(await canI(op, 'list', 'modelroutes.beastmode.dev', 'all')).toBe(true);
      expect(await canI(op, 'create', 'roles', 'all')).toBe(true);

      // The namespace-scoped install: Roles in the watched namespaces, nothing cluster-wide.
      const user = scoped.user;
      expect(scoped.objects.some((o) => o.kind?.startsWith('Cluster'))).toBe(false);
      for (const verb of ['get', 'list', 'watch']) {
        expect(await canI(user, verb, 'secrets', { namespace: ns })).toBe(false);
        expect(await canI(user, verb, 'secrets', 'all')).toBe(false);
      }
      expect(await canI(user, 'list', 'modelroutes.beastmode.dev', { namespace: ns })).toBe(true);
      expect(await canI(user, 'list', 'modelroutes.beastmode.dev', { namespace: elsewhere })).toBe(false);
      expect(await canI(user, 'list', 'modelroutes.beastmode.dev', 'all')).toBe(false);
      expect(await canI(user, 'list', 'nodes', 'all')).toBe(false);
    },
    TIMEOUT_MS,
  );

  test(
    'a gateway and a route become Ready; a rotated credential reaches the gateway and is used without a restart',
    async () => {
      const sim = await startSimulator({ port: 0, apiKey: KEY_1 });
      sims.push(sim);
      await apply(secret('sim-creds', KEY_1), R.Secret);
      operator = await startOperator({
        repoRoot,
        kubeconfig: scoped.kubeconfig,
        port: 18491,
        identity: `op-rbac-${id}`,
        args: ['--lease-namespace', ns, '--namespaces', ns, '--log-level', 'info'],
        env: { BEASTMODE_GATEWAY_METRICS_URLS: `main=http://127.0.0.1:${GATEWAY_PORT}/metrics` },
      });
      const op = operator;
      await eventually(
        'the operator to lead',
        async () => ((await op.isLeader()) ? true : undefined),
        30_000,
      );
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
      await apply(route('chat', 'chat', [backend(sim, 'sim-creds')]), R.ModelRoute);
      await ok(['wait', '--for=condition=Ready', 'modelgateway/main', '-n', ns, '--timeout=120s']);

      // The gateway's ServiceAccount: its ConfigMap, no Secret.
      const gwUser = serviceAccountUser(ns, 'main-gateway');
      expect(await canI(gwUser, 'watch', 'configmaps/main-gateway-config', { namespace: ns })).toBe(true);
      expect(await canI(gwUser, 'get', 'secrets/sim-creds', { namespace: ns })).toBe(false);

      const deployment = await client.get(R.Deployment, ns, 'main-gateway');
      volumes = new SecretVolumes(client, ns, 'main-gateway');
      volumes.start();
      await eventually('the Secret volume', () => (volumes?.written.has('sim-creds') ? true : undefined));
      gateway = startGatewayProcess({
        deployment,
        volumes,
        kubeconfig: impersonatingKubeconfig(gwUser, ns),
        port: GATEWAY_PORT,
      });
      await eventually('the gateway to serve chat', async () =>
        (await chat('chat').catch(() => 0)) === 200 ? true : undefined,
      );
      expect(sim.stats().last?.headers.authorization).toBe(`Bearer ${KEY_1}`);
      await ok(['wait', '--for=condition=Ready', 'modelroute/chat', '-n', ns, '--timeout=30s']);

      // The provider rotates the key (the old one is refused from now on), then the Secret follows.
      const pid = gateway.child.pid;
      await sim.close();
      const rotatedSim = await startSimulator({ port: sim.port, apiKey: KEY_2 });
      sims[0] = rotatedSim;
      expect(await chat('chat')).toBe(401);
      await apply(secret('sim-creds', KEY_2), R.Secret);
      const rotated = Date.now();
      await eventually('the rotated key to be used', async () =>
        (await chat('chat')) === 200 ? true : undefined,
      );
      process.stderr.write(
        `\nSecret rotated → the gateway uses the new key after ${Date.now() - rotated} ms\n`,
      );
      expect(rotatedSim.stats().last?.headers.authorization).toBe(`Bearer ${KEY_2}`);
      expect(gateway.child.pid).toBe(pid);
      expect(gateway.child.exitCode).toBeNull();
      expect(gateway.output.join('')).not.toContain(KEY_2);
    },
    TIMEOUT_MS,
  );

  test(
    'a missing credential is reported on the route from the gateway, and heals when the Secret appears',
    async () => {
      const sim = sims[0] as Simulator;
      await apply(route('summarise', 'summarise', [backend(sim, 'late-key')]), R.ModelRoute);
      const c = await eventually('CredentialsUnavailable', async () => {
        const ready = readyCondition(await client.get(R.ModelRoute, ns, 'summarise'));
        return ready?.reason === 'CredentialsUnavailable' ? ready : undefined;
      });
      expect(c.status).toBe('False');
      expect(c.message).toContain(`Secret ${ns}/late-key key apiKey`);
      expect(await chat('summarise')).toBeGreaterThanOrEqual(500);
      await apply(secret('late-key', KEY_2), R.Secret);
      await ok(['wait', '--for=condition=Ready', 'modelroute/summarise', '-n', ns, '--timeout=60s']);
      expect(await chat('summarise')).toBe(200);
    },
    TIMEOUT_MS,
  );

  test(
    'a canary is promoted step by step under the same permissions',
    async () => {
      const stable = sims[0] as Simulator;
      const candidate = await startSimulator({ port: 0, apiKey: KEY_2 });
      sims.push(candidate);
      await apply(
        {
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'Canary',
          metadata: { name: 'chat', namespace: ns },
          spec: {
            routeRef: { name: 'chat' },
            backend: 'sim',
            steps: [50, 100],
            interval: '3s',
            analysis: { minRequests: 3, failureThreshold: 1, metrics: [{ name: 'error-rate', max: 0.5 }] },
          },
        },
        R.Canary,
      );
      const phase = async (): Promise<string | undefined> =>
        ((await client.get(R.Canary, ns, 'chat')).status as CanaryStatus | undefined)?.phase;
      await eventually('the canary to idle on the stable spec', async () =>
        (await phase()) === 'Idle' ? true : undefined,
      );
      let sending = true;
      const traffic = (async () => {
        while (sending) {
          await chat('chat').catch(() => 0);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      try {
        await client.mergePatch(R.ModelRoute, ns, 'chat', {
          spec: { backends: [backend(candidate, 'sim-creds')] },
        });
        await eventually(
          'promotion',
          async () => ((await phase()) === 'Succeeded' ? true : undefined),
          120_000,
        );
      } finally {
        sending = false;
        await traffic;
      }
      expect(candidate.stats().requests).toBeGreaterThan(0);
      expect(stable.stats().requests).toBeGreaterThan(0);
      await ok(['wait', '--for=condition=Ready', 'canary/chat', '-n', ns, '--timeout=10s']);
      // Nothing the operator did needed a permission it lacks: the API server refused it nothing.
      expect(operator?.output.join('')).not.toMatch(/forbidden/i);
    },
    TIMEOUT_MS,
  );
});
