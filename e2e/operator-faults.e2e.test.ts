// The operator and the gateway when the API server goes away, against the real local API server: each
// process reaches it through its own cuttable TCP proxy (harness/cut-proxy.ts), so one process is cut off
// (connections reset, or silently dropped: a half-open peer) while the suite and the other processes keep
// talking to the API server. A leader cut off steps down before its standby takes over and writes nothing
// after; an operator and a gateway cut off for a minute while routes change keep serving the last good
// config without one failed request and catch up once the cut heals; CRs deleted while the operator is down
// are gone from the GatewayConfig when it comes back and nothing is left with a finalizer.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import OpenAI from 'openai';
import { eventually, helm, kubectl, kubectlOk as ok, kubeconfigPath, repoRoot } from './harness/env.js';
import { startCutProxy, type CutMode, type CutProxy } from './harness/cut-proxy.js';
import { SecretVolumes, startGatewayProcess, type GatewayProcess } from './harness/gateway-pod.js';
import {
  applyChartRbac,
  impersonatingKubeconfig,
  serviceAccountUser,
  type ChartRbac,
} from './harness/rbac.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { startOperator, type OperatorProcess } from '../bench/operator/process.js';
import { freePort } from '../cluster/control-plane.js';
import { KubeClient, type KubeObject } from '../kube/client.js';
import { R } from '../kube/resources.js';
import { GATEWAY_CONFIG_KEY, type GatewayConfig } from '../api/v1alpha1/index.js';

const TIMEOUT_MS = 180_000;
const ns = `e2e-opf-${Date.now().toString(36)}`;
let client: KubeClient;
let rbac: ChartRbac;
const operators: OperatorProcess[] = [];
const proxies: CutProxy[] = [];

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const log = (line: string): void => void process.stderr.write(`\noperator-faults: ${line}\n`);

/** An operator as the chart runs it (its ServiceAccount's rights), reaching the API server through `proxy`. */
async function startOp(
  identity: string,
  proxy: CutProxy,
  args: string[],
  env: Record<string, string> = {},
): Promise<OperatorProcess> {
  const op = await startOperator({
    repoRoot,
    kubeconfig: proxy.kubeconfig(rbac.kubeconfig),
    port: await freePort(),
    identity,
    args: ['--namespaces', ns, '--log-level', 'info', ...args],
    env,
  });
  operators.push(op);
  return op;
}

async function proxy(): Promise<CutProxy> {
  const p = await startCutProxy(kubeconfigPath());
  proxies.push(p);
  return p;
}

const exited = (op: OperatorProcess): boolean => op.child.exitCode !== null || op.child.signalCode !== null;

const apply = (
  obj: { metadata: { name: string; namespace?: string } } & Record<string, unknown>,
  r: (typeof R)[keyof typeof R],
) => client.apply(r, obj, 'e2e');

const get = (r: (typeof R)[keyof typeof R], name: string): Promise<KubeObject | undefined> =>
  client.get(r, ns, name).catch(() => undefined);

async function gatewayConfig(gw: string): Promise<GatewayConfig | undefined> {
  const cm = await get(R.ConfigMap, `${gw}-gateway-config`);
  const data = (cm?.data as Record<string, string> | undefined)?.[GATEWAY_CONFIG_KEY];
  return data ? (JSON.parse(data) as GatewayConfig) : undefined;
}

const gateway = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelGateway',
  metadata: { name, namespace: ns },
  spec: { replicas: 1, ...extra },
});

const route = (name: string, gw: string, model: string, backends: Record<string, unknown>[]) => ({
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelRoute',
  metadata: { name, namespace: ns },
  spec: { gatewayRef: { name: gw }, model, backends },
});

/** The weight of a route's first backend in a gateway's GatewayConfig. */
async function configWeight(gw: string, model: string): Promise<number | undefined> {
  return (await gatewayConfig(gw))?.routes.find((r) => r.model === model)?.backends[0]?.weight;
}

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await ok(['apply', '--server-side', '-f', join(repoRoot, 'crds')]);
  await ok(['wait', '--for=condition=Established', '--timeout=60s', '-f', join(repoRoot, 'crds')]);
  await ok(['create', 'namespace', ns]);
  rbac = await applyChartRbac({ release: ns, namespace: ns });
}, TIMEOUT_MS);

afterAll(async () => {
  for (const o of operators) await o.stop('SIGKILL');
  for (const p of proxies) await p.close();
  await helm(['uninstall', 'opf-helm', '--namespace', ns, '--ignore-not-found']);
  await rbac?.remove();
  await kubectl(['delete', 'namespace', ns, '--wait=false']);
}, TIMEOUT_MS);

/** What a process looked like on the last poll: leading, its writes, or gone. */
interface Seen {
  leading: boolean;
  writes: number;
  exited: boolean;
}

async function look(op: OperatorProcess, last: Seen): Promise<Seen> {
  if (exited(op)) return { ...last, leading: false, exited: true };
  try {
    return { leading: await op.isLeader(), writes: await op.writes(), exited: false };
  } catch {
    return exited(op) ? { ...last, leading: false, exited: true } : last;
  }
}

describe('leader cut off from the API server', () => {
  test(
    'the standby reconciles within 20 s of the cut, and the old leader steps down first and writes nothing after',
    async () => {
      const lease = `opf-lease-${Date.now().toString(36)}`;
      const leaseArgs = ['--lease-name', lease, '--lease-namespace', ns];
      const [pa, pb] = [await proxy(), await proxy()];
      const a = await startOp('op-a', pa, leaseArgs);
      await eventually('op-a to lead', async () => ((await a.isLeader()) ? true : undefined), 30_000);
      const b = await startOp('op-b', pb, leaseArgs);
      const backend = (weight: number) => [{ name: 'a', url: 'https://a.example.com/v1', weight }];
      await apply(gateway('lead'), R.ModelGateway);
      await apply(route('lead-chat', 'lead', 'lead-chat', backend(1)), R.ModelRoute);
      await eventually('weight 1 in the GatewayConfig', async () =>
        (await configWeight('lead', 'lead-chat')) === 1 ? true : undefined,
      );
      expect(await b.isLeader()).toBe(false);

      // The cut: op-a's connections go silent. A change meanwhile can only be made by op-b, once it leads.
      pa.set('blackhole');
      const cutAt = Date.now();
      await apply(route('lead-chat', 'lead', 'lead-chat', backend(2)), R.ModelRoute);
      // A write answered just before the cut may still be counted in the first moments after it.
      await sleep(1000);
      let seenA = await look(a, { leading: true, writes: await a.writes(), exited: false });
      const writesAtCut = seenA.writes;
      let aSteppedDownAt: number | undefined;
      let bLeadsAt: number | undefined;
      let aLeadingWhenBLed = false;
      await eventually(
        'weight 2 in the GatewayConfig after the cut',
        async () => {
          seenA = await look(a, seenA);
          const bLeads = await b.isLeader();
          const now = Date.now();
          if (!seenA.leading) aSteppedDownAt ??= now;
          if (bLeads && bLeadsAt === undefined) {
            bLeadsAt = now;
            aLeadingWhenBLed = seenA.leading;
          }
          return (await configWeight('lead', 'lead-chat')) === 2 ? true : undefined;
        },
        60_000,
        100,
      );
      const reconciledMs = Date.now() - cutAt;
      log(
        `leader cut off (blackhole): op-a stepped down after ` +
          `${aSteppedDownAt === undefined ? 'never' : seconds(aSteppedDownAt - cutAt)}` +
          `${seenA.exited ? ` (exited, code ${a.child.exitCode})` : ''}, op-b leads after ` +
          `${bLeadsAt === undefined ? '?' : seconds(bLeadsAt - cutAt)}, the change reached the ` +
          `GatewayConfig after ${seconds(reconciledMs)}; op-a writes after the cut: ${seenA.writes - writesAtCut}`,
      );
      expect(reconciledMs).toBeLessThan(20_000);
      // Never two leaders: op-a gave up before op-b's takeover, having written nothing since the cut.
      expect(aLeadingWhenBLed).toBe(false);
      expect(aSteppedDownAt).toBeDefined();
      expect(seenA.writes).toBe(writesAtCut);

      // The cut heals: op-a (if it still runs) writes nothing, even asked to resync, and op-b keeps the config.
      pa.set('pass');
      const writesAtHeal = seenA.writes;
      if (!exited(a)) a.child.kill('SIGHUP');
      await apply(route('lead-chat', 'lead', 'lead-chat', backend(3)), R.ModelRoute);
      await eventually('weight 3 from op-b', async () =>
        (await configWeight('lead', 'lead-chat')) === 3 ? true : undefined,
      );
      await sleep(5000);
      seenA = await look(a, seenA);
      log(
        `after the heal: op-a ${seenA.exited ? `exited (code ${a.child.exitCode})` : `runs, leading ${seenA.leading}`}, ` +
          `writes after the heal: ${seenA.writes - writesAtHeal}`,
      );
      expect(seenA.leading).toBe(false);
      expect(seenA.writes).toBe(writesAtHeal);
      expect(await configWeight('lead', 'lead-chat')).toBe(3);
      expect(await b.isLeader()).toBe(true);
      // It exits (a fresh instance campaigns with fresh caches), a reconcile stuck on a dead connection or not.
      expect(seenA.exited).toBe(true);
      expect(a.child.exitCode).toBe(1);
      expect(a.output.join('')).toContain('Lost the leader lease');
      await b.stop('SIGTERM');
      await a.stop('SIGKILL');
      await ok(['delete', 'modelgateway,modelroute', '--all', '-n', ns]);
    },
    TIMEOUT_MS,
  );
});

interface Sample {
  at: number;
  model: string;
  error?: string;
}

/** Steady traffic through the official openai client (no retries): what served each request, or its error. */
class Traffic {
  readonly samples: Sample[] = [];
  private running = false;
  private readonly loops: Promise<void>[] = [];
  private readonly openai: OpenAI;

  constructor(gatewayUrl: string) {
    this.openai = new OpenAI({
      apiKey: 'unused',
      baseURL: `${gatewayUrl}/v1`,
      maxRetries: 0,
      timeout: 10_000,
    });
  }

  start(rps: number, workers = 4): void {
    this.running = true;
    const paceMs = (1000 * workers) / rps;
    for (let i = 0; i < workers; i++) this.loops.push(this.loop(paceMs));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops.splice(0));
  }

  private async loop(paceMs: number): Promise<void> {
    while (this.running) {
      const t0 = Date.now();
      try {
        const res = await this.openai.chat.completions.create({
          model: 'out-chat',
          messages: [{ role: 'user', content: `hello ${randomUUID()}` }],
          max_tokens: 4,
        });
        this.samples.push({ at: Date.now(), model: res.model });
      } catch (e) {
        this.samples.push({ at: Date.now(), model: '?', error: (e as Error).message });
      }
      const wait = paceMs - (Date.now() - t0);
      if (wait > 0) await sleep(wait);
    }
  }

  between(from: number, to = Infinity): Sample[] {
    return this.samples.filter((x) => x.at >= from && x.at < to);
  }
}

describe('an operator and a gateway cut off from the API server for a minute while routes change', () => {
  const OUTAGE_MS = 60_000;
  let sim: Simulator;
  let gw: GatewayProcess;
  let volumes: SecretVolumes;
  let traffic: Traffic;
  let opProxy: CutProxy;
  let gwProxy: CutProxy;

  const creds = { credentialsSecretRef: { name: 'sim-creds', key: 'apiKey' } };
  const outRoute = (weights: { a: number; b: number }) =>
    route('out-chat', 'out', 'out-chat', [
      { name: 'a', url: `${sim.url}/v1`, model: 'model-a', weight: weights.a, ...creds },
      { name: 'b', url: `${sim.url}/v1`, model: 'model-b', weight: weights.b, ...creds },
    ]);
  const extraRoute = (model: string) =>
    route(model, 'out', model, [{ name: 'a', url: `${sim.url}/v1`, model: 'model-a', ...creds }]);

  /** A one-off request for `model` straight to the gateway: its status. */
  async function status(model: string): Promise<number> {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }),
    }).catch(() => undefined);
    await res?.arrayBuffer();
    return res?.status ?? 0;
  }

  beforeAll(async () => {
    opProxy = await proxy();
    gwProxy = await proxy();
    sim = await startSimulator({ port: 0, apiKey: 'sk-e2e-faults' });
    const gwPort = await freePort();
    await apply(
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'sim-creds', namespace: ns },
        stringData: { apiKey: 'sk-e2e-faults' },
      },
      R.Secret,
    );
    // The simulator listens on loopback, which the egress policy refuses unless allowed.
    await apply(gateway('out', { egress: { allow: ['127.0.0.0/8'] } }), R.ModelGateway);
    await apply(outRoute({ a: 1, b: 0 }), R.ModelRoute);
    await startOp('op-out', opProxy, ['--no-leader-elect'], {
      BEASTMODE_GATEWAY_METRICS_URLS: `out=http://127.0.0.1:${gwPort}/metrics`,
    });
    await eventually('out-chat in the GatewayConfig', async () =>
      (await configWeight('out', 'out-chat')) === 1 ? true : undefined,
    );
    const deployment = await eventually('the Deployment mounting sim-creds', async () => {
      const d = await get(R.Deployment, 'out-gateway');
      return JSON.stringify(d?.spec).includes('"secretName":"sim-creds"') ? d : undefined;
    });
    await eventually('the gateway RoleBinding', () => get(R.RoleBinding, 'out-gateway'));
    volumes = new SecretVolumes(client, ns, 'out-gateway');
    volumes.start();
    await eventually('the Secret volume written', () =>
      volumes.written.has('sim-creds') ? true : undefined,
    );
    gw = startGatewayProcess({
      deployment,
      volumes,
      kubeconfig: gwProxy.kubeconfig(impersonatingKubeconfig(serviceAccountUser(ns, 'out-gateway'), ns)),
      port: gwPort,
      env: { BEASTMODE_POLICY: 'off' },
    });
    await eventually('the gateway to serve out-chat', async () =>
      (await status('out-chat')) === 200 ? true : undefined,
    );
    traffic = new Traffic(gw.url);
    traffic.start(20);
  }, TIMEOUT_MS);

  afterAll(async () => {
    await traffic?.stop();
    await gw?.stop();
    volumes?.stop();
    await sim?.close();
  }, TIMEOUT_MS);

  const phases: { mode: CutMode; weights: { a: number; b: number }; added: string; from: string }[] = [
    { mode: 'refuse', weights: { a: 0, b: 1 }, added: 'out-added-1', from: 'model-a' },
    { mode: 'blackhole', weights: { a: 1, b: 0 }, added: 'out-added-2', from: 'model-b' },
  ];
  for (const phase of phases) {
    const to = phase.from === 'model-a' ? 'model-b' : 'model-a';
    test(
      `${phase.mode}: no failed request meanwhile, and the changes are served within 60 s of the heal`,
      async () => {
        expect(await status(phase.added)).toBe(404);
        const cutAt = Date.now();
        opProxy.set(phase.mode);
        gwProxy.set(phase.mode);
        await sleep(5000);
        await apply(outRoute(phase.weights), R.ModelRoute);
        await apply(extraRoute(phase.added), R.ModelRoute);
        await sleep(cutAt + OUTAGE_MS - Date.now());
        // Cut off for real: nothing reached the GatewayConfig, and the gateway serves the last good config.
        expect(await configWeight('out', 'out-chat')).toBe(phase.weights.a === 1 ? 0 : 1);
        const during = traffic.between(cutAt + 1000);
        expect(during.filter((x) => x.model !== phase.from && x.error === undefined)).toEqual([]);
        expect(await status(phase.added)).toBe(404);

        opProxy.set('pass');
        gwProxy.set('pass');
        const healedAt = Date.now();
        let configAt = 0;
        let servedAt = 0;
        await eventually(
          'the changes in the GatewayConfig and served',
          async () => {
            const [config, added] = await Promise.all([gatewayConfig('out'), status(phase.added)]);
            const now = Date.now();
            const chat = config?.routes.find((r) => r.model === 'out-chat');
            const weightsIn =
              chat?.backends.map((b) => b.weight).join('/') === `${phase.weights.a}/${phase.weights.b}`;
            if (configAt === 0 && weightsIn && config?.routes.some((r) => r.model === phase.added))
              configAt = now;
            const switched = traffic.between(healedAt).some((x) => x.model === to);
            if (servedAt === 0 && configAt > 0 && added === 200 && switched) servedAt = now;
            return servedAt > 0 ? true : undefined;
          },
          90_000,
          100,
        );
        await sleep(1000);
        const sent = traffic.between(cutAt);
        const failed = sent.filter((x) => x.error !== undefined);
        log(
          `${phase.mode} for ${seconds(OUTAGE_MS)}: ${sent.length} requests since the cut, ${failed.length} failed; ` +
            `after the heal the GatewayConfig had the changes in ${seconds(configAt - healedAt)}, ` +
            `the gateway served them in ${seconds(servedAt - healedAt)} ` +
            `(proxies: operator ${JSON.stringify(opProxy.stats())}, gateway ${JSON.stringify(gwProxy.stats())})`,
        );
        if (servedAt - healedAt >= 60_000 || failed.length > 0) {
          log(`operator output:\n${operators.at(-1)?.output.join('').slice(-8000)}`);
          log(`gateway output:\n${gw.output.join('').slice(-4000)}`);
        }
        expect(failed.map((x) => x.error)).toEqual([]);
        expect(sent.length).toBeGreaterThan(((servedAt - cutAt) / 1000) * 10);
        expect(servedAt - healedAt).toBeLessThan(60_000);
        // From the first answer by the new backend on, only it serves.
        const firstNew = traffic.between(healedAt).find((x) => x.model === to)?.at ?? 0;
        expect(traffic.between(firstNew + 500).filter((x) => x.model !== to)).toEqual([]);
      },
      OUTAGE_MS + 120_000,
    );
  }
});

describe('CRs deleted while the operator is down', () => {
  test(
    'a deleted route is gone from the GatewayConfig within seconds of the restart; a deleted gateway takes what it owned, and nothing is left with a finalizer',
    async () => {
      const direct = await proxy();
      const args = ['--no-leader-elect'];
      let op = await startOp('op-down', direct, args);
      const backends = [{ name: 'a', url: 'https://a.example.com/v1' }];
      await apply(gateway('stay'), R.ModelGateway);
      await apply(gateway('doomed'), R.ModelGateway);
      await apply(route('stay-keep', 'stay', 'stay-keep', backends), R.ModelRoute);
      await apply(route('stay-drop', 'stay', 'stay-drop', backends), R.ModelRoute);
      await apply(route('doomed-chat', 'doomed', 'doomed-chat', backends), R.ModelRoute);
      const models = async (gw: string): Promise<string[]> =>
        (await gatewayConfig(gw))?.routes.map((r) => r.model).sort() ?? [];
      await eventually('both GatewayConfigs', async () =>
        (await models('stay')).length === 2 && (await models('doomed')).length === 1 ? true : undefined,
      );
      const owned: [(typeof R)[keyof typeof R], string][] = [
        [R.Deployment, 'doomed-gateway'],
        [R.Service, 'doomed-gateway'],
        [R.ConfigMap, 'doomed-gateway-config'],
        [R.ServiceAccount, 'doomed-gateway'],
        [R.Role, 'doomed-gateway'],
        [R.RoleBinding, 'doomed-gateway'],
        [R.PodDisruptionBudget, 'doomed-gateway'],
        [R.NetworkPolicy, 'doomed-gateway'],
      ];
      for (const [r, name] of owned) await eventually(`${r.kind} ${name}`, () => get(r, name));

      await op.stop('SIGKILL');
      await ok(['delete', 'modelroute', 'stay-drop', '-n', ns]);
      // Foreground: the garbage collector holds the gateway with a finalizer until its dependents are gone,
      // and removes that finalizer itself (no operator needed).
      await ok(['delete', 'modelgateway', 'doomed', '-n', ns, '--cascade=foreground', '--wait=false']);
      const restartedAt = Date.now();
      op = await startOp('op-down-2', direct, args);
      await eventually(
        'stay-drop gone from the GatewayConfig',
        async () => ((await models('stay')).join() === 'stay-keep' ? true : undefined),
        30_000,
        100,
      );
      const droppedMs = Date.now() - restartedAt;
      for (const [r, name] of owned)
        await eventually(
          `${r.kind} ${name} collected`,
          async () => ((await get(r, name)) === undefined ? true : undefined),
          60_000,
          250,
        );
      await eventually(
        'the doomed ModelGateway gone',
        async () => ((await get(R.ModelGateway, 'doomed')) === undefined ? true : undefined),
        60_000,
        250,
      );
      const collectedMs = Date.now() - restartedAt;
      log(
        `deleted while the operator was down: the route left the GatewayConfig ${seconds(droppedMs)} after ` +
          `the restart (operator start included); the gateway and all it owned gone after ${seconds(collectedMs)}`,
      );
      expect(droppedMs).toBeLessThan(10_000);
      // Nothing is on its way out and held by a finalizer, and the operator put none anywhere.
      const all = JSON.parse(
        await ok([
          'get',
          'modelgateways,modelroutes,deployments,services,configmaps,serviceaccounts,roles,rolebindings,poddisruptionbudgets,networkpolicies',
          '-n',
          ns,
          '-o',
          'json',
        ]),
      ) as { items: KubeObject[] };
      const held = all.items.filter(
        (o) =>
          o.metadata.deletionTimestamp !== undefined ||
          (o.metadata as { finalizers?: string[] }).finalizers?.length,
      );
      expect(held.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([]);
      // The route left behind says why it is not served.
      await eventually('doomed-chat Ready=False GatewayNotFound', async () => {
        const conds = (await get(R.ModelRoute, 'doomed-chat'))?.status as
          { conditions?: { type: string; reason: string }[] } | undefined;
        return conds?.conditions?.some((c) => c.type === 'Ready' && c.reason === 'GatewayNotFound')
          ? true
          : undefined;
      });
      await op.stop('SIGTERM');
    },
    TIMEOUT_MS,
  );
});

describe('helm uninstall while CRs exist', () => {
  test(
    'deleting the CRs afterwards is not held up: no finalizer left behind by the operator that is gone',
    async () => {
      const release = 'opf-helm';
      const install = await helm([
        'install',
        release,
        join(repoRoot, 'charts', 'beastmode'),
        '--namespace',
        ns,
        '--skip-crds',
        '--set',
        `watchNamespaces={${ns}}`,
        '--wait',
        '--timeout',
        '60s',
      ]);
      if (install.code !== 0) throw new Error(`helm install failed: ${install.stderr}`);
      // The chart's operator Deployment runs no container here (fake kubelet): the operator runs locally as
      // the ServiceAccount the chart installed, with the rights the chart granted.
      const kubeconfig = impersonatingKubeconfig(serviceAccountUser(ns, `${release}-beastmode`), ns);
      const op = await startOperator({
        repoRoot,
        kubeconfig,
        port: await freePort(),
        identity: 'op-helm',
        args: ['--no-leader-elect', '--namespaces', ns],
      });
      operators.push(op);
      await apply(gateway('charted'), R.ModelGateway);
      await apply(
        route('charted-chat', 'charted', 'charted-chat', [{ name: 'a', url: 'https://a.example.com/v1' }]),
        R.ModelRoute,
      );
      await eventually('charted-chat in the GatewayConfig', async () =>
        (await gatewayConfig('charted'))?.routes.some((r) => r.model === 'charted-chat') ? true : undefined,
      );
      await eventually('charted Ready status written', async () =>
        (await get(R.ModelRoute, 'charted-chat'))?.status !== undefined ? true : undefined,
      );

      await op.stop('SIGTERM');
      const uninstall = await helm(['uninstall', release, '--namespace', ns, '--wait', '--timeout', '60s']);
      if (uninstall.code !== 0) throw new Error(`helm uninstall failed: ${uninstall.stderr}`);
      const finalizers = [
        await get(R.ModelGateway, 'charted'),
        await get(R.ModelRoute, 'charted-chat'),
      ].flatMap((o) => (o?.metadata as { finalizers?: string[] } | undefined)?.finalizers ?? []);
      expect(finalizers).toEqual([]);
      const deletedAt = Date.now();
      await ok(['delete', 'modelroute', 'charted-chat', '-n', ns, '--timeout=30s']);
      await ok(['delete', 'modelgateway', 'charted', '-n', ns, '--cascade=foreground', '--timeout=60s']);
      await eventually(
        'the charted gateway ConfigMap collected',
        async () => ((await get(R.ConfigMap, 'charted-gateway-config')) === undefined ? true : undefined),
        60_000,
        250,
      );
      log(`after helm uninstall: the CRs and what they owned deleted in ${seconds(Date.now() - deletedAt)}`);
    },
    TIMEOUT_MS,
  );
});
