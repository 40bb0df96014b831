// A Canary's shadow phase on a real control plane: the operator (child process) puts the candidate in phase
// Shadowing at weight 0, the gateway (a local process watching its ConfigMap) mirrors the route's requests
// to it, simulators stand in for model servers and the official openai client sends continuous traffic.
// A healthy candidate passes the phase and takes its first live step; one that answers 500 is rolled back
// from Shadowing. In both, every client answer comes from stable while shadowing, and no client request
// fails. The time from Shadowing to the verdict is measured.
import { eventually, kubeconfigPath } from './harness/env.js';
import { CanaryStatusLog } from './harness/canary-status-log.js';
import {
  applyAll,
  createRolloutNamespace,
  listEvents,
  mainModelGateway,
  simulatorBackend,
  startMainGateway,
  startRolloutOperator,
  tearDownRollout,
  waitUntilServed,
  type KubeEvent,
} from './harness/rollout-setup.js';
import { Traffic } from './harness/traffic.js';
import type { OperatorProcess } from '../bench/operator/process.js';
import { KubeClient, type KubeObject } from '../kube/client.js';
import { R, type ResourceType } from '../kube/resources.js';
import type { CanaryStatus } from '../api/v1alpha1/index.js';
import type { Gateway } from '../gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';

const TIMEOUT_MS = 120_000;
const ns = `e2e-shadow-${Date.now().toString(36)}`;
const OPERATOR_PORT = 18482;
const INTERVAL_S = 2;
const SHADOW_DURATION_S = 5;
const MIN_REQUESTS = 20;
let client: KubeClient;
let operator: OperatorProcess | undefined;
let gateway: Gateway;
const sims: Record<'stable' | 'good' | 'bad', Simulator> = {} as never;
const log = (line: string) => process.stderr.write(`[canary-shadow e2e] ${line}\n`);

/** The two routes (one per test), each with its Canary of the same name. */
const ROUTES = ['pass', 'fail'] as const;
type RouteName = (typeof ROUTES)[number];

const canaryStatus = async (name: RouteName): Promise<CanaryStatus> =>
  (await client.get(R.Canary, ns, name)).status ?? {};

async function setRouteBackend(name: RouteName, sim: Simulator, model: string): Promise<void> {
  await client.mergePatch(R.ModelRoute, ns, name, { spec: { backends: [simulatorBackend(sim, model)] } });
}

async function canaryEvents(name: RouteName): Promise<KubeEvent[]> {
  return (await listEvents(ns)).filter((e) => e.regarding?.kind === 'Canary' && e.regarding.name === name);
}

/** Mirrored calls the gateway counts for a route, by outcome (its shadow metrics). */
async function shadowOutcomes(route: RouteName): Promise<Record<string, number>> {
  const text = await gateway.state.metrics.registry.metrics();
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('beastmode_shadow_requests_total{') || !line.includes(`route="${route}"`)) continue;
    const outcome = /outcome="([^"]*)"/.exec(line)?.[1] ?? '?';
    out[outcome] = (out[outcome] ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return out;
}

/**
 * Moves the route to the candidate and follows the Canary until it leaves Shadowing: the status entries
 * from the move on, when Shadowing was first seen and when the verdict came.
 */
async function shadowUntilVerdict(
  name: RouteName,
  status: CanaryStatusLog,
  candidate: Simulator,
  model: string,
  verdict: (st: CanaryStatus) => boolean,
) {
  const t0 = Date.now();
  await setRouteBackend(name, candidate, model);
  const st = await eventually(
    `the ${name} canary's verdict`,
    async () => {
      const s = await canaryStatus(name);
      return verdict(s) ? s : undefined;
    },
    60_000,
    100,
  );
  // The status log polls on its own: wait until it has seen the verdict too, for its time.
  const verdictAt = await eventually(`the ${name} status log to see the verdict`, () => {
    const shadowing = status.since(t0).find((e) => e.phase === 'Shadowing');
    return status.since(t0).find((e) => e.at > (shadowing?.at ?? t0) && e.phase !== 'Shadowing')?.at;
  });
  const entries = status.since(t0);
  const shadowingAt = entries.find((e) => e.phase === 'Shadowing')?.at;
  return { t0, st, entries, shadowingAt, verdictAt };
}

const statusLogs = {} as Record<RouteName, CanaryStatusLog>;
const traffic = {} as Record<RouteName, Traffic>;

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await createRolloutNamespace(ns);
  sims.stable = await startSimulator({ faults: { latencyMs: 5 } });
  sims.good = await startSimulator({ faults: { latencyMs: 5 } });
  sims.bad = await startSimulator({ faults: { latencyMs: 5, errorRate: 1, errorStatus: 500 } });
  const objects: [KubeObject, ResourceType][] = [mainModelGateway(ns)];
  for (const name of ROUTES) {
    objects.push(
      [
        {
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'ModelRoute',
          metadata: { name, namespace: ns },
          spec: {
            gatewayRef: { name: 'main' },
            model: name,
            backends: [simulatorBackend(sims.stable, 'm1')],
          },
        },
        R.ModelRoute,
      ],
      [
        {
          apiVersion: 'beastmode.dev/v1alpha1',
          kind: 'Canary',
          metadata: { name, namespace: ns },
          spec: {
            routeRef: { name },
            backend: 'main',
            steps: [1, 50, 100],
            interval: `${INTERVAL_S}s`,
            shadow: {
              duration: `${SHADOW_DURATION_S}s`,
              minRequests: MIN_REQUESTS,
              maxErrorRate: 0.05,
              compare: 'format',
              percent: 100,
            },
            analysis: {
              minRequests: 5,
              failureThreshold: 1,
              progressDeadline: '1m',
              metrics: [{ name: 'error-rate', max: 0.05 }],
            },
          },
        },
        R.Canary,
      ],
    );
  }
  await applyAll(client, objects);
  gateway = await startMainGateway(client, ns);
  operator = await startRolloutOperator(ns, OPERATOR_PORT, gateway);
  for (const name of ROUTES) {
    statusLogs[name] = new CanaryStatusLog(() => canaryStatus(name));
    statusLogs[name].start();
    traffic[name] = new Traffic({ gatewayUrl: gateway.url, model: name });
    await eventually(`the ${name} canary to idle on the stable spec`, async () =>
      (await canaryStatus(name)).phase === 'Idle' ? true : undefined,
    );
    await waitUntilServed(gateway, name);
  }
}, TIMEOUT_MS);

afterAll(async () => {
  for (const s of Object.values(statusLogs)) s.stop();
  for (const t of Object.values(traffic)) await t.stop();
  await tearDownRollout(ns, { operator, gateway, sims });
}, TIMEOUT_MS);

describe('canary shadow phase on a real control plane', () => {
  test(
    'a healthy candidate is mirrored to at weight 0, passes the shadow phase and takes its first live step',
    async () => {
      const t = traffic.pass;
      t.start(4, { rps: 40 });
      await new Promise((r) => setTimeout(r, 500));
      sims.good.resetStats();
      const run = await shadowUntilVerdict('pass', statusLogs.pass, sims.good, 'm2', (s) =>
        (s.canaryWeight ?? 0) > 0 ? true : s.phase === 'RolledBack',
      );
      const { st, entries, shadowingAt, verdictAt } = run;
      const mirrored = sims.good.stats().requests;
      const outcomes = await shadowOutcomes('pass');
      await new Promise((r) => setTimeout(r, 1000));
      await t.stop();
      const during = t.between(shadowingAt ?? run.t0, verdictAt);
      log(
        `pass: phases ${entries.map((e) => `${e.phase}@${e.weight}`).join(' → ')}; ` +
          `Shadowing → ${st.phase} at ${st.canaryWeight}% in ${((verdictAt - (shadowingAt ?? run.t0)) / 1000).toFixed(1)} s; ` +
          `${during.length} client answers while shadowing (variants ${[...new Set(during.map((s) => s.variant))].join(',')}); ` +
          `candidate simulator received ${mirrored} requests; gateway shadow outcomes ${JSON.stringify(outcomes)}; ` +
          `judged shadow figures ${JSON.stringify(st.lastAnalysis?.shadow)}`,
      );
      expect(shadowingAt).toBeDefined();
      const shadowing = entries.filter((e) => e.phase === 'Shadowing');
      expect(shadowing.every((e) => e.weight === 0)).toBe(true);
      // The first state after Shadowing is the first live step.
      const firstLive = entries.find((e) => e.at >= verdictAt);
      expect(firstLive).toMatchObject({ phase: 'Progressing', weight: 1 });
      expect(entries.filter((e) => e.at < (shadowingAt ?? 0) && e.weight > 0)).toEqual([]);
      // Not judged before shadow.duration has passed (measured from the move, before the phase began).
      expect(verdictAt - run.t0).toBeGreaterThanOrEqual(SHADOW_DURATION_S * 1000);
      // Mirrored calls reached the candidate; no client answer came from it while it was shadowed.
      expect(mirrored).toBeGreaterThanOrEqual(MIN_REQUESTS);
      expect(outcomes.ok ?? 0).toBeGreaterThanOrEqual(MIN_REQUESTS);
      expect(during.length).toBeGreaterThan(MIN_REQUESTS);
      expect(during.filter((s) => s.variant !== 'stable' || s.model !== 'm1')).toEqual([]);
      expect(st.lastAnalysis?.verdict).toBe('passed');
      expect(st.lastAnalysis?.shadow?.requests ?? 0).toBeGreaterThanOrEqual(MIN_REQUESTS);
      expect(st.lastAnalysis?.shadow?.errorRate ?? 0).toBeLessThanOrEqual(0.05);
      const events = await eventually('the shadow-passed event', async () => {
        const ev = await canaryEvents('pass');
        return ev.some((e) => /Shadow phase of revision \S+ passed/.test(e.note ?? '')) ? ev : undefined;
      });
      const passed = events.filter((e) => /Shadow phase of revision \S+ passed/.test(e.note ?? ''));
      expect(passed).toHaveLength(1);
      expect(passed[0]).toMatchObject({ type: 'Normal' });
      expect(passed[0]?.note).toContain(st.candidateRevision ?? '?');
      expect(events.filter((e) => e.type === 'Warning')).toEqual([]);
      expect(t.errors()).toEqual([]);
    },
    TIMEOUT_MS,
  );

  test(
    'a candidate answering 500 is rolled back from Shadowing without a client request ever reaching it',
    async () => {
      const t = traffic.fail;
      t.start(4, { rps: 40 });
      await new Promise((r) => setTimeout(r, 500));
      sims.bad.resetStats();
      const run = await shadowUntilVerdict(
        'fail',
        statusLogs.fail,
        sims.bad,
        'm3',
        (s) => s.phase === 'RolledBack' || (s.canaryWeight ?? 0) > 0,
      );
      const { st, entries, shadowingAt, verdictAt } = run;
      await new Promise((r) => setTimeout(r, 1000));
      await t.stop();
      const mirrored = sims.bad.stats();
      const outcomes = await shadowOutcomes('fail');
      const all = t.between(run.t0, Date.now());
      log(
        `fail: phases ${entries.map((e) => `${e.phase}@${e.weight}`).join(' → ')}; ` +
          `Shadowing → ${st.phase} in ${((verdictAt - (shadowingAt ?? run.t0)) / 1000).toFixed(1)} s; ` +
          `${all.length} client answers (variants ${[...new Set(all.map((s) => s.variant))].join(',')}); ` +
          `candidate simulator received ${mirrored.requests} requests (${mirrored.errors} answered with an error); ` +
          `gateway shadow outcomes ${JSON.stringify(outcomes)}; ${st.message ?? ''}`,
      );
      expect(shadowingAt).toBeDefined();
      expect(st.phase).toBe('RolledBack');
      expect(entries.every((e) => e.weight === 0)).toBe(true);
      expect(entries.find((e) => e.at >= verdictAt)?.phase).toBe('RolledBack');
      expect(verdictAt - run.t0).toBeGreaterThanOrEqual(SHADOW_DURATION_S * 1000);
      expect(st.lastAnalysis?.verdict).toBe('failed');
      expect(st.lastAnalysis?.shadow?.errorRate ?? 0).toBeGreaterThan(0.05);
      // The candidate was only ever mirrored to: each of its requests failed, no client saw one.
      expect(mirrored.requests).toBeGreaterThanOrEqual(MIN_REQUESTS);
      expect(mirrored.errors).toBe(mirrored.requests);
      expect(all.length).toBeGreaterThan(MIN_REQUESTS);
      expect(all.filter((s) => s.variant !== 'stable' || s.model !== 'm1')).toEqual([]);
      expect(t.errors()).toEqual([]);
      const conds = st.conditions ?? [];
      expect(conds.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
      const events = await eventually('the RolledBack event', async () => {
        const ev = await canaryEvents('fail');
        return ev.some((e) => e.reason === 'RolledBack') ? ev : undefined;
      });
      const rolledBack = events.filter((e) => e.reason === 'RolledBack');
      expect(rolledBack).toHaveLength(1);
      expect(rolledBack[0]).toMatchObject({ type: 'Warning' });
      expect(rolledBack[0]?.note).toContain('shadow phase failed');
      expect(events.some((e) => /Shadow phase of revision \S+ passed/.test(e.note ?? ''))).toBe(false);
    },
    TIMEOUT_MS,
  );
});
