// Experiment on a real control plane: the operator (child process) scrapes the gateway's experiment counters
// every interval, decides with the always-valid test, and promotes the winner through Experiment status; the
// gateway (a local process watching its ConfigMap) assigns users sticky to variants and serves the promoted
// one to everyone; two simulators with different latency stand in for model servers, and the official openai
// client sends traffic from many users. Measured: time from the first request to the verdict, samples per
// variant at the verdict, and the time from status Promoted to the gateway serving only the winner.
import { eventually, kubectlOk as ok, kubeconfigPath } from './harness/env.js';
import {
  applyAll,
  createRolloutNamespace,
  listEvents,
  mainModelGateway,
  startMainGateway,
  startRolloutOperator,
  tearDownRollout,
  waitUntilServed,
} from './harness/rollout-setup.js';
import { Traffic } from './harness/traffic.js';
import type { OperatorProcess } from '../bench/operator/process.js';
import { KubeClient } from '../kube/client.js';
import { R } from '../kube/resources.js';
import {
  GATEWAY_CONFIG_KEY,
  HEADERS,
  type ExperimentStatus,
  type GatewayConfig,
} from '../api/v1alpha1/index.js';
import type { Gateway } from '../gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';

const TIMEOUT_MS = 180_000;
const ns = `e2e-experiment-${Date.now().toString(36)}`;
const OPERATOR_PORT = 18483;
let client: KubeClient;
let operator: OperatorProcess | undefined;
let gateway: Gateway;
const sims: Record<'slow' | 'fast', Simulator> = {} as never;
const log = (line: string) => process.stderr.write(`[experiment e2e] ${line}\n`);

const experimentStatus = async (): Promise<ExperimentStatus> =>
  ((await client.get(R.Experiment, ns, 'speed')).status as ExperimentStatus | undefined) ?? {};

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await createRolloutNamespace(ns);
  sims.slow = await startSimulator({ faults: { latencyMs: 60 } });
  sims.fast = await startSimulator({ faults: { latencyMs: 5 } });
  await applyAll(client, [
    mainModelGateway(ns),
    [
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'ModelRoute',
        metadata: { name: 'chat', namespace: ns },
        spec: {
          gatewayRef: { name: 'main' },
          model: 'chat',
          // As written, the route serves the slow backend only: that is what the control gets.
          backends: [
            { name: 'slow', url: `${sims.slow.url}/v1`, model: 'm-slow', weight: 1 },
            { name: 'fast', url: `${sims.fast.url}/v1`, model: 'm-fast', weight: 0 },
          ],
        },
      },
      R.ModelRoute,
    ],
  ]);
  gateway = await startMainGateway(client, ns);
  operator = await startRolloutOperator(ns, OPERATOR_PORT, gateway);
  await waitUntilServed(gateway, 'chat');
}, TIMEOUT_MS);

afterAll(async () => {
  await tearDownRollout(ns, { operator, gateway, sims });
}, TIMEOUT_MS);

describe('experiment on a real control plane', () => {
  test(
    'the faster variant wins on latency, is promoted, and the gateway serves it to every user',
    async () => {
      await client.apply(
        R.Experiment,
        {
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'Experiment',
          metadata: { name: 'speed', namespace: ns },
          spec: {
            routeRef: { name: 'chat' },
            subject: 'user',
            variants: [
              { name: 'control', backend: 'slow' },
              { name: 'fast', backend: 'fast' },
            ],
            primary: { metric: 'latency-ms', minimumDetectableEffect: 20 },
            guardrails: [{ metric: 'error-rate', tolerance: 0.05 }],
            minSamplesPerVariant: 30,
            interval: '5s',
            promotion: 'auto',
          },
        },
        'e2e',
      );
      await eventually('the experiment to run', async () =>
        (await experimentStatus()).phase === 'Running' ? true : undefined,
      );
      // Users from a pool, each sticky to its variant.
      const traffic = new Traffic({ gatewayUrl: gateway.url, model: 'chat', userPool: 200 });
      const t0 = Date.now();
      traffic.start(6, { pauseMs: 20 });
      const st = await eventually(
        'the verdict',
        async () => {
          const s = await experimentStatus();
          return s.phase === 'Promoted' ? s : undefined;
        },
        90_000,
        100,
      );
      const promotedAt = Date.now();
      await new Promise((r) => setTimeout(r, 3000));
      await traffic.stop();
      const counts = Object.fromEntries(
        (st.variants ?? []).map((v) => [v.name, v.moments?.['latency-ms']?.count ?? 0]),
      );
      const means = Object.fromEntries(
        (st.variants ?? []).map((v) => [v.name, Math.round(v.mean?.['latency-ms'] ?? Number.NaN)]),
      );
      const ok200 = traffic.samples.filter((s) => s.error === undefined);
      const during = ok200.filter((s) => s.at < promotedAt && s.arm !== '');
      const lastNonWinner = ok200.filter((s) => s.arm !== 'speed/fast').at(-1)?.at ?? t0;
      log(
        `verdict ${st.verdict} ${st.winner} in ${((promotedAt - t0) / 1000).toFixed(1)} s of traffic; ` +
          `samples ${JSON.stringify(counts)}, mean latency ms ${JSON.stringify(means)}, planned ` +
          `${st.plannedSamplesPerVariant ?? '?'} per variant; ${st.reasons?.[0] ?? ''}; ` +
          `last answer from the control ${lastNonWinner - promotedAt} ms after status Promoted`,
      );
      expect(st).toMatchObject({ verdict: 'winner', winner: 'fast', promotedVariant: 'fast' });
      expect(st.comparisons?.[0]).toMatchObject({ variant: 'fast', standing: 'better' });
      expect(counts.control).toBeGreaterThanOrEqual(30);
      expect(counts.fast).toBeGreaterThanOrEqual(30);
      expect(means.control).toBeGreaterThan(means.fast ?? Infinity);
      // Before the verdict both variants served, each user stuck to one, each variant through its backend.
      const byArm = (arm: string) => during.filter((s) => s.arm === arm);
      expect(byArm('speed/control').length).toBeGreaterThan(20);
      expect(byArm('speed/fast').length).toBeGreaterThan(20);
      expect(byArm('speed/control').every((s) => s.model === 'm-slow')).toBe(true);
      expect(byArm('speed/fast').every((s) => s.model === 'm-fast')).toBe(true);
      const armsOfUser = new Map<string, Set<string>>();
      for (const s of during) armsOfUser.set(s.user, (armsOfUser.get(s.user) ?? new Set()).add(s.arm));
      expect([...armsOfUser.values()].filter((a) => a.size > 1)).toEqual([]);
      // After promotion (config propagation: 1.5 s) every user gets the winner.
      const after = ok200.filter((s) => s.at > promotedAt + 1500);
      expect(after.length).toBeGreaterThan(10);
      expect(after.every((s) => s.arm === 'speed/fast' && s.model === 'm-fast')).toBe(true);
      expect(traffic.errors()).toEqual([]);
      // The compiled GatewayConfig carries the promoted variant.
      const cm = await client.get(R.ConfigMap, ns, 'main-gateway-config');
      const config = JSON.parse(
        (cm as unknown as { data: Record<string, string> }).data[GATEWAY_CONFIG_KEY] ?? '{}',
      ) as GatewayConfig;
      const route = config.routes.find((r) => r.name === 'chat');
      expect(route?.experiment).toMatchObject({ name: 'speed', promoted: 'fast' });
      // Ready for kubectl wait, and the verdict and promotion recorded as Events.
      await ok(['wait', '--for=condition=Ready', 'experiment/speed', '-n', ns, '--timeout=10s']);
      const listing = await ok(['get', 'mexp', '-n', ns]);
      expect(listing).toMatch(/speed\s+True\s+Promoted\s+winner\s+fast/);
      const mine = (await listEvents(ns)).filter((e) => e.regarding?.kind === 'Experiment');
      expect(mine.map((e) => e.reason)).toEqual(expect.arrayContaining(['Started', 'Winner', 'Promoted']));
      expect(mine.find((e) => e.reason === 'Winner')?.note).toContain('fast vs control: latency-ms');
    },
    TIMEOUT_MS,
  );

  test(
    'a second Experiment on the route is refused; abort returns every user to the route as written; the second takes over once the first is gone',
    async () => {
      await client.apply(
        R.Experiment,
        {
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'Experiment',
          metadata: { name: 'later', namespace: ns },
          spec: {
            routeRef: { name: 'chat' },
            subject: 'request',
            variants: [
              { name: 'a', backend: 'slow' },
              { name: 'b', backend: 'fast' },
            ],
            primary: { metric: 'error-rate', minimumDetectableEffect: 0.05 },
            interval: '5s',
            promotion: 'none',
          },
        },
        'e2e',
      );
      const laterStatus = async () =>
        ((await client.get(R.Experiment, ns, 'later')).status as ExperimentStatus | undefined) ?? {};
      const refused = await eventually('the second experiment to be refused', async () => {
        const s = await laterStatus();
        return s.conditions?.some((c) => c.type === 'Stalled' && c.reason === 'ExperimentConflict')
          ? s
          : undefined;
      });
      expect(refused.phase).toBe('Pending');
      await client.mergePatch(R.Experiment, ns, 'speed', { spec: { abort: true } });
      const t = Date.now();
      await eventually('aborted', async () =>
        (await experimentStatus()).phase === 'Aborted' ? true : undefined,
      );
      const asWritten = await eventually('the route as written', async () => {
        const r = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], user: 'u1' }),
        });
        const body = (await r.json()) as { model?: string };
        return r.ok && r.headers.get(HEADERS.experiment) === null && body.model === 'm-slow'
          ? true
          : undefined;
      });
      log(`abort: route served as written ${Date.now() - t} ms after the patch`);
      expect(asWritten).toBe(true);
      await client.delete(R.Experiment, ns, 'speed');
      await eventually('the second experiment to take the route', async () =>
        (await laterStatus()).phase === 'Running' ? true : undefined,
      );
      await eventually('the gateway to split by request', async () => {
        const arms = new Set<string>();
        for (let i = 0; i < 20; i++) {
          const r = await fetch(`${gateway.url}/v1/chat/completions`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }], user: 'u1' }),
          });
          arms.add(r.headers.get(HEADERS.experiment) ?? '');
        }
        return arms.has('later/a') && arms.has('later/b') ? true : undefined;
      });
    },
    TIMEOUT_MS,
  );
});
