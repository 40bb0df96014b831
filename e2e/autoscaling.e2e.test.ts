// Autoscaling on the gateways' own signals, end to end on a real control plane: the operator (the chart's
// RBAC, external metrics on) serves external.metrics.k8s.io through a real APIService, the cluster's HPA
// controller reads it, and the gateway's Deployment follows the requests in flight of a real gateway process
// under load: scale-up in seconds, scale-down after the policy's window, the fallback replica count held
// while the gateway cannot be read, and the way back once it can. The aggregator reaches the operator on
// loopback through an ExternalName Service (the local cluster has no pod network); the serving certificate is
// made for the Service's name, as the chart's is. A model server pool behind the route scales the same way
// on the gateway's upstream calls in flight to its backend. Then the pool gets a queue (the simulator's
// capacity, four requests per ready replica of its Deployment: the test stands in for the pods the local
// cluster cannot run) and spills its excess over to a hosted backend while it scales up.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, kubectl, kubectlOk as ok, kubeconfigPath, repoRoot } from './harness/env.js';
import { SecretVolumes, startGatewayProcess, type GatewayProcess } from './harness/gateway-pod.js';
import {
  applyChartRbac,
  impersonatingKubeconfig,
  serviceAccountUser,
  type ChartRbac,
} from './harness/rbac.js';
import { startOperator, type OperatorProcess } from '../bench/operator/process.js';
import { servingCertificate } from '../cluster/certs.js';
import { EXTERNAL_METRICS_APISERVICE, loopbackMetricsApi } from '../cluster/metrics-api.js';
import { KubeClient, type KubeObject } from '../kube/client.js';
import { R } from '../kube/resources.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';

const TIMEOUT_MS = 240_000;
const ns = `e2e-as-${Date.now().toString(36)}`;
const APISERVICE = EXTERNAL_METRICS_APISERVICE;
const METRICS_API_PORT = 19400 + Math.floor(Math.random() * 400);
const GATEWAY_PORT = 19800 + Math.floor(Math.random() * 150);
/** Requests in flight per replica the policy aims at, and the load that asks for four replicas. */
const TARGET = 4;
const CONCURRENCY = 16;
const SCRAPE_SECONDS = 2;

let client: KubeClient;
let rbac: ChartRbac;
let operator: OperatorProcess | undefined;
let sim: Simulator | undefined;
let hosted: Simulator | undefined;
let gateway: GatewayProcess | undefined;
let volumes: SecretVolumes | undefined;
let certDir = '';
let apiServiceBefore: KubeObject | undefined;

const apply = (
  obj: { metadata: { name: string; namespace?: string } } & Record<string, unknown>,
  r: (typeof R)[keyof typeof R],
) => client.apply(r, obj, 'e2e');

const APISERVICE_TYPE = {
  kind: 'APIService',
  group: 'apiregistration.k8s.io',
  version: 'v1',
  plural: 'apiservices',
  namespaced: false,
} as const;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
const conditionOf = (o: KubeObject | undefined, type: string): Condition | undefined =>
  ((o?.status as { conditions?: Condition[] } | undefined)?.conditions ?? []).find((c) => c.type === type);

const policy = () => client.get(R.AutoscalingPolicy, ns, 'main-gateway').catch(() => undefined);
const deployment = (name = 'main-gateway') => client.get(R.Deployment, ns, name);
const replicas = async (name = 'main-gateway'): Promise<{ spec: number; ready: number }> => {
  const d = await deployment(name);
  return {
    spec: Number((d.spec as { replicas?: number }).replicas ?? 0),
    ready: Number((d.status as { readyReplicas?: number } | undefined)?.readyReplicas ?? 0),
  };
};

/** Loads still running (a failed test stops them in afterAll). */
const loads = new Set<() => Promise<unknown>>();

/** Keeps `n` chat requests in flight through the gateway until stopped. */
function load(n: number): { stop: () => Promise<{ ok: number; failed: number }> } {
  let running = true;
  const counts = { ok: 0, failed: 0 };
  const loop = async (): Promise<void> => {
    while (running) {
      const res = await fetch(`${gateway?.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
      }).catch(() => undefined);
      await res?.arrayBuffer();
      if (res?.ok === true) counts.ok++;
      else counts.failed++;
    }
  };
  const loops = Array.from({ length: n }, () => loop());
  const stop = async () => {
    running = false;
    loads.delete(stop);
    await Promise.all(loops);
    return counts;
  };
  loads.add(stop);
  return { stop };
}

/**
 * After the writes settle, a forced resync (SIGHUP) writes nothing: not the Deployments, not the HPAs, not a
 * status. Settled means 12 s without a write: longer than the HPAs' 10 s scale-down window, whose end changes
 * their conditions (and so, rightly, the policies' status).
 */
async function resyncWritesNothing(op: OperatorProcess): Promise<void> {
  let settled = await op.writes();
  let quietSince = Date.now();
  const until = Date.now() + 90_000;
  while (Date.now() - quietSince < 12_000 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await op.writes();
    if (now !== settled) [settled, quietSince] = [now, Date.now()];
  }
  const hpa = (name: string) => client.get(R.HorizontalPodAutoscaler, ns, name);
  const generations = async () =>
    Promise.all([
      deployment().then((d) => d.metadata.generation),
      deployment('sim-pool').then((d) => d.metadata.generation),
      hpa('main-gateway-autoscaler').then((h) => h.metadata.generation),
      hpa('sim-pool-autoscaler').then((h) => h.metadata.generation),
    ]);
  const writeSeries = async () =>
    (await (await fetch('http://127.0.0.1:18071/metrics')).text())
      .split('\n')
      .filter((l) => l.startsWith('beastmode_operator_api_writes_total{') && !/kind="(Lease|Event)"/.test(l));
  const before = await generations();
  const series = await writeSeries();
  op.child.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 3000));
  expect(await generations()).toEqual(before);
  // Compared series by series, so a failure names the kind written.
  expect(await writeSeries()).toEqual(series);
}

async function startGateway(): Promise<GatewayProcess> {
  const g = startGatewayProcess({
    deployment: await deployment(),
    volumes: volumes as SecretVolumes,
    kubeconfig: impersonatingKubeconfig(serviceAccountUser(ns, 'main-gateway'), ns),
    port: GATEWAY_PORT,
    env: { BEASTMODE_POLICY: 'off' },
  });
  await eventually('the gateway to be ready', async () =>
    (await fetch(`${g.url}/readyz`).catch(() => undefined))?.ok === true ? true : undefined,
  );
  return g;
}

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await ok(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  await ok(['create', 'namespace', ns]);
  // Another suite or installation may hold the group: this suite takes it and gives it back.
  apiServiceBefore = await client.get(APISERVICE_TYPE, '', APISERVICE).catch(() => undefined);
  rbac = await applyChartRbac({ release: ns, namespace: ns, set: ['externalMetrics.enabled=true'] });

  // The Service the aggregator resolves, its serving certificate, and the APIService trusting it.
  const svc = 'beastmode-metrics-api';
  certDir = mkdtempSync(join(tmpdir(), 'metrics-api-'));
  const cert = await servingCertificate(certDir, [`${svc}.${ns}.svc`]);
  const loopback = loopbackMetricsApi(
    ns,
    svc,
    METRICS_API_PORT,
    readFileSync(cert.caCert).toString('base64'),
  );
  await client.apply(R.Service, loopback.service, 'e2e');
  operator = await startOperator({
    repoRoot,
    kubeconfig: rbac.kubeconfig,
    port: 18071,
    identity: 'op-as',
    args: [
      '--no-leader-elect',
      '--namespaces',
      ns,
      '--log-level',
      'info',
      '--metrics-api-port',
      String(METRICS_API_PORT),
      '--metrics-api-cert-dir',
      certDir,
      '--scrape-interval-seconds',
      String(SCRAPE_SECONDS),
    ],
    env: { BEASTMODE_GATEWAY_METRICS_URLS: `main=http://127.0.0.1:${GATEWAY_PORT}/metrics` },
  });
  await client.apply(APISERVICE_TYPE, loopback.apiService, 'e2e');
  await ok(['wait', '--for=condition=Available', '--timeout=60s', `apiservice/${APISERVICE}`]);
}, TIMEOUT_MS);

afterAll(async () => {
  await Promise.all([...loads].map((stop) => stop()));
  await gateway?.stop();
  volumes?.stop();
  await sim?.close();
  await hosted?.close();
  await operator?.stop('SIGTERM');
  await kubectl(['delete', 'apiservice', APISERVICE, '--ignore-not-found']);
  if (apiServiceBefore !== undefined) {
    const { name, labels, annotations } = apiServiceBefore.metadata;
    const restored = { ...apiServiceBefore, metadata: { name, labels, annotations }, status: undefined };
    await kubectl(['create', '-f', '-'], JSON.stringify(restored));
  }
  await rbac?.remove();
  if (certDir !== '') rmSync(certDir, { recursive: true, force: true });
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
}, TIMEOUT_MS);

test(
  'the HPA scales a gateway on its requests in flight through the operator’s external metrics, and holds the fallback while the gateway cannot be read',
  async () => {
    // An upstream that answers in 400 ms: sixteen clients keep about sixteen requests in flight.
    sim = await startSimulator({ port: 0, faults: { latencyMs: 400 } });
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
    await apply(
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'ModelRoute',
        metadata: { name: 'chat', namespace: ns },
        spec: {
          gatewayRef: { name: 'main' },
          model: 'chat',
          backends: [{ name: 'sim', url: `${sim.url}/v1`, provider: 'openai-compatible', model: 'm' }],
        },
      },
      R.ModelRoute,
    );
    await apply(
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'AutoscalingPolicy',
        metadata: { name: 'main-gateway', namespace: ns },
        spec: {
          targetRef: { kind: 'ModelGateway', name: 'main' },
          minReplicas: 1,
          maxReplicas: 4,
          metrics: [{ type: 'inflight-requests', targetAverage: TARGET }],
          fallback: { failureThreshold: 3, replicas: 3 },
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0 },
            scaleDown: {
              stabilizationWindowSeconds: 10,
              policies: [{ type: 'Percent', value: 100, periodSeconds: 5 }],
            },
          },
        },
      },
      R.AutoscalingPolicy,
    );
    // A model server pool behind the route's backend, scaled on the gateway's upstream calls in flight to it.
    await apply(
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'sim-pool', namespace: ns },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'sim-pool' } },
          template: {
            metadata: { labels: { app: 'sim-pool' } },
            spec: { containers: [{ name: 'server', image: 'vllm/vllm-openai:v0.11.0' }] },
          },
        },
      },
      R.Deployment,
    );
    await apply(
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'AutoscalingPolicy',
        metadata: { name: 'sim-pool', namespace: ns },
        spec: {
          targetRef: { kind: 'Deployment', name: 'sim-pool' },
          backend: { route: 'chat', name: 'sim' },
          minReplicas: 1,
          maxReplicas: 4,
          metrics: [{ type: 'inflight-requests', targetAverage: TARGET }],
          behavior: {
            scaleUp: { stabilizationWindowSeconds: 0 },
            scaleDown: { stabilizationWindowSeconds: 10 },
          },
        },
      },
      R.AutoscalingPolicy,
    );
    volumes = new SecretVolumes(client, ns, 'main-gateway');
    await eventually('the gateway Deployment', () => deployment().catch(() => undefined));
    gateway = await startGateway();
    await eventually('the route to be served', async () => {
      const res = await fetch(`${gateway?.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] }),
      });
      await res.arrayBuffer();
      return res.ok ? true : undefined;
    });

    // Ready=True only once the HPA reads the metric; idle, it wants the minimum.
    const ready = await eventually(
      'the policy to be Ready (the HPA reads the metric)',
      async () => {
        const p = await policy();
        const c = conditionOf(p, 'Ready');
        if (c?.status === 'True') return p;
        throw new Error(`Ready ${c?.status}: ${c?.reason}: ${c?.message}`);
      },
      90_000,
    );
    expect(conditionOf(ready, 'Fallback')?.status).toBe('False');
    await eventually('one replica while idle', async () =>
      (await replicas()).spec === 1 ? true : undefined,
    );

    // Load: the HPA wants CONCURRENCY / TARGET = 4 replicas.
    const loaded = Date.now();
    const traffic = load(CONCURRENCY);
    let decidedAt = 0;
    // Scaling is not a rollout: the gateway stays Ready while the HPA adds pods.
    const gatewayUnready: (Condition | undefined)[] = [];
    await eventually(
      'four replicas ready',
      async () => {
        const [r, gw] = await Promise.all([replicas(), client.get(R.ModelGateway, ns, 'main')]);
        if (conditionOf(gw, 'Ready')?.status !== 'True') gatewayUnready.push(conditionOf(gw, 'Ready'));
        if (decidedAt === 0 && r.spec > 1) decidedAt = Date.now();
        return r.spec === 4 && r.ready === 4 ? true : undefined;
      },
      60_000,
      100,
    );
    const readyAt = Date.now();
    expect(gatewayUnready).toEqual([]);
    await eventually(
      'four model server replicas (the pool policy)',
      async () => ((await replicas('sim-pool')).spec === 4 ? true : undefined),
      30_000,
      100,
    );
    const poolAt = Date.now();
    const loadedPolicy = await policy();
    const counts = await traffic.stop();
    const unloaded = Date.now();
    expect(counts.failed).toBe(0);
    const seen = (loadedPolicy?.status as { currentMetrics?: { type: string; value: string }[] })
      .currentMetrics;
    expect(seen?.find((m) => m.type === 'inflight-requests')).toBeDefined();

    // No load: back to one replica once the 10 s window has passed.
    await eventually('one replica after the load', async () =>
      (await replicas()).spec === 1 ? true : undefined,
    );
    const downAt = Date.now();
    await eventually('one model server replica after the load', async () =>
      (await replicas('sim-pool')).spec === 1 ? true : undefined,
    );

    // The HPA is never fought: the operator owns no replica count it scales, and a resync writes nothing.
    const owners = ((await deployment()).metadata.managedFields ?? []) as {
      manager?: string;
      fieldsV1?: { 'f:spec'?: Record<string, unknown> };
    }[];
    const replicaOwners = owners
      .filter((f) => f.fieldsV1?.['f:spec']?.['f:replicas'] !== undefined)
      .map((f) => f.manager);
    // The operator applies the Deployment (it has an entry), without spec.replicas.
    expect(owners.map((f) => f.manager)).toContain('beastmode-operator');
    expect(replicaOwners).not.toContain('beastmode-operator');
    await resyncWritesNothing(operator as OperatorProcess);

    // The gateway cannot be read: after three failed scrapes the HPA holds the fallback's three replicas.
    await gateway.stop();
    const lost = Date.now();
    await eventually(
      'three replicas held while the gateway cannot be read',
      async () => ((await replicas()).spec === 3 ? true : undefined),
      60_000,
      100,
    );
    const heldAt = Date.now();
    const fallen = await eventually(
      'the policy to report the fallback',
      async () => {
        const p = await policy();
        return conditionOf(p, 'Fallback')?.status === 'True' ? p : undefined;
      },
      30_000,
    );
    expect(conditionOf(fallen, 'Fallback')?.message).toContain('holding 3 replicas');
    const events = await ok(['get', 'events', '-n', ns, '-o', 'json']);
    expect(events).toContain('FallbackActive');

    // Readable again: the fallback ends and the idle gateway goes back to one replica.
    gateway = await startGateway();
    const back = Date.now();
    await eventually(
      'one replica once the gateway is read again',
      async () => ((await replicas()).spec === 1 ? true : undefined),
      60_000,
    );
    const recoveredAt = Date.now();
    await eventually('the fallback to end', async () => {
      const p = await policy();
      return conditionOf(p, 'Fallback')?.status === 'False' ? true : undefined;
    });

    const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
    process.stdout.write(
      `autoscaling: load of ${CONCURRENCY} in flight → scale-up decision in ${s(decidedAt - loaded)}, 4 replicas ` +
        `ready ${s(readyAt - loaded)}, model server pool at 4 ${s(poolAt - loaded)}; load gone → 1 replica ${s(downAt - unloaded)} (window 10 s); gateway ` +
        `unreadable → fallback 3 replicas ${s(heldAt - lost)}; readable again → 1 replica ` +
        `${s(recoveredAt - back)} (scrape every ${SCRAPE_SECONDS} s, HPA sync 5 s); ${counts.ok} requests, ` +
        `${counts.failed} failed\n`,
    );
    // The roadmap's bound: scale-up in under a minute.
    expect(readyAt - loaded).toBeLessThan(60_000);
    expect(operator?.output.join('')).toContain('Serving external metrics');
  },
  TIMEOUT_MS,
);

test(
  'a saturated pool spills its excess over to the hosted backend with no client error, and takes the traffic back once the HPA has grown it',
  async () => {
    const pool = sim as Simulator;
    const spare = (hosted = await startSimulator({ port: 0, faults: { latencyMs: 400 } }));
    // Four requests at once per ready replica of the pool's Deployment; more are answered 429.
    let poolReady = 0;
    const follow = setInterval(() => {
      void replicas('sim-pool').then(
        (r) => {
          if (r.ready === poolReady) return;
          poolReady = r.ready;
          pool.setFaults({ latencyMs: 400, capacity: TARGET * Math.max(1, r.ready) });
        },
        () => undefined,
      );
    }, 200);
    try {
      await eventually('the pool back at one replica', async () => {
        const r = await replicas('sim-pool');
        return r.spec === 1 && r.ready === 1 && poolReady === 1 ? true : undefined;
      });
      const before = (await client.get(R.ModelGateway, ns, 'main')).status as { configHash?: string };
      await apply(
        {
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'ModelRoute',
          metadata: { name: 'chat', namespace: ns },
          spec: {
            gatewayRef: { name: 'main' },
            model: 'chat',
            backends: [
              { name: 'sim', url: `${pool.url}/v1`, model: 'm', spillOver: { to: 'hosted' } },
              { name: 'hosted', url: `${spare.url}/v1`, model: 'm', weight: 0 },
            ],
            // Neither fallback on 429 nor retries: only the spill-over keeps the pool's 429s from clients.
            fallback: { when: ['5xx'] },
            retry: { attempts: 0 },
          },
        },
        R.ModelRoute,
      );
      // The gateway serves the new config.
      await eventually('the gateway to load the spill-over route', async () => {
        const st = (await client.get(R.ModelGateway, ns, 'main')).status as { configHash?: string };
        if (st.configHash === undefined || st.configHash === before.configHash) return undefined;
        const text = await (await fetch(`${gateway?.url}/metrics`)).text();
        return text.includes(`revision="${st.configHash}"`) ? true : undefined;
      });
      await eventually(
        'SpillingOver=False while idle',
        async () => {
          const r = await client.get(R.ModelRoute, ns, 'chat');
          return conditionOf(r, 'SpillingOver')?.status === 'False' ? true : undefined;
        },
        30_000,
      );

      const loaded = Date.now();
      const traffic = load(CONCURRENCY);
      const spilledAt = await eventually(
        'requests served by the hosted backend',
        () => (spare.stats().requests > 0 ? Date.now() : undefined),
        30_000,
        50,
      );
      const spilling = await eventually(
        'the route to report SpillingOver=True',
        async () => {
          const r = await client.get(R.ModelRoute, ns, 'chat');
          const c = conditionOf(r, 'SpillingOver');
          return c?.status === 'True' ? { c, at: Date.now(), ready: conditionOf(r, 'Ready') } : undefined;
        },
        30_000,
      );
      expect(spilling.c.message).toContain('backend sim to hosted');
      expect(spilling.ready?.status).toBe('True');
      // The spilled requests count as the pool's demand: its HPA grows it to four replicas.
      await eventually(
        'four ready model server replicas',
        async () => {
          const r = await replicas('sim-pool');
          return r.spec === 4 && r.ready === 4 && poolReady === 4 ? true : undefined;
        },
        60_000,
        100,
      );
      const grownAt = Date.now();
      // The gateway's bound follows the pool up and the hosted backend gets nothing for 3 s.
      const backAt = await eventually(
        'all traffic back on the pool',
        async () => {
          const n = spare.stats().requests;
          await new Promise((r) => setTimeout(r, 3000));
          return spare.stats().requests === n ? Date.now() - 3000 : undefined;
        },
        60_000,
        0,
      );
      const ended = await eventually(
        'the route to report SpillingOver=False',
        async () => {
          const r = await client.get(R.ModelRoute, ns, 'chat');
          return conditionOf(r, 'SpillingOver')?.status === 'False' ? Date.now() : undefined;
        },
        40_000,
      );
      const counts = await traffic.stop();
      expect(counts.failed).toBe(0);
      const events = await ok(['get', 'events', '-n', ns, '-o', 'json']);
      expect(events).toContain('SpillOverStarted');
      expect(events).toContain('SpillOverEnded');
      expect(pool.stats().overloaded).toBeGreaterThan(0);

      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      process.stdout.write(
        `spill-over: load of ${CONCURRENCY} in flight on a pool serving ${TARGET} per replica → first request ` +
          `spilled to hosted ${s(spilledAt - loaded)}, SpillingOver=True ${s(spilling.at - loaded)}, pool at 4 ` +
          `replicas ${s(grownAt - loaded)}, traffic back on the pool ${s(backAt - loaded)}, SpillingOver=False ` +
          `${s(ended - loaded)}; ${counts.ok} requests (${spare.stats().requests} by hosted, ` +
          `${pool.stats().overloaded} pool 429s spilled), ${counts.failed} failed\n`,
      );
    } finally {
      clearInterval(follow);
    }
  },
  TIMEOUT_MS,
);
