// Canary on a real control plane: the operator (child process) moves weights through Canary status, the
// gateway (a local process here, watching its ConfigMap) serves them, simulators stand in for model servers,
// and the official openai client sends continuous traffic. A healthy version is promoted step by step with the
// observed traffic share matching each weight and no client error; a bad one is rolled back (the time from
// its first traffic to weight 0 is measured), and its cached answers stop at the rollback (the time from
// status RolledBack to the first answer without them is measured); low traffic holds the step; SIGKILL of
// the operator at each phase does not disturb the rollout.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { eventually, kubectlOk as ok, kubeconfigPath, repoRoot } from './harness/env.js';
import { CanaryStatusLog } from './harness/canary-status-log.js';
import {
  applyAll,
  createRolloutNamespace,
  mainModelGateway,
  simulatorBackend,
  startMainGateway,
  startRolloutOperator,
  tearDownRollout,
  waitUntilServed,
  listEvents,
} from './harness/rollout-setup.js';
import { Traffic } from './harness/traffic.js';
import type { OperatorProcess } from '../bench/operator/process.js';
import { KubeClient } from '../kube/client.js';
import { R } from '../kube/resources.js';
import type { CanaryStatus } from '../api/v1alpha1/index.js';
import type { Gateway } from '../gateway/src/server/gateway.js';
import { startSimulator, type Simulator } from '../simulator/simulator.js';
import { bucketOf } from '../gateway/src/routing/hash.js';

const TIMEOUT_MS = 180_000;
const ns = `e2e-canary-${Date.now().toString(36)}`;
const OPERATOR_PORT = 18481;
const INTERVAL_S = 5;
let client: KubeClient;
let operator: OperatorProcess | undefined;
let gateway: Gateway;
const sims: Record<'a' | 'b' | 'bad', Simulator> = {} as never;
const log = (line: string) => process.stderr.write(`[canary e2e] ${line}\n`);

function cli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [join(repoRoot, 'bin/beastmode.js'), ...args, '-n', ns, '--kubeconfig', kubeconfigPath()],
      (err, stdout, stderr) =>
        err ? reject(new Error(`beastmode ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
  });
}

async function startOp(): Promise<void> {
  operator = await startRolloutOperator(ns, OPERATOR_PORT, gateway);
}

const canaryStatus = async (): Promise<CanaryStatus> => (await client.get(R.Canary, ns, 'chat')).status ?? {};

async function setRouteBackend(sim: Simulator, model: string): Promise<void> {
  await client.mergePatch(R.ModelRoute, ns, 'chat', { spec: { backends: [simulatorBackend(sim, model)] } });
}

interface Probe {
  at: number;
  who: 'canary' | 'stable';
  model: string;
  cache: string;
  revision: string;
  error?: string;
}

/**
 * One cacheable request (temperature 0, same prompt) every 50 ms from a user in the canary cohort at any
 * weight and one from a user outside it up to 99%: the cohorts' cached answers, seen from each side.
 */
class CacheProbe {
  samples: Probe[] = [];
  private running = false;
  private loops: Promise<void>[] = [];
  private readonly users = { canary: userInBuckets(0, 100), stable: userInBuckets(9900, 10_000) };

  start(): void {
    this.running = true;
    this.loops = (['canary', 'stable'] as const).map((who) => this.loop(who));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(who: 'canary' | 'stable'): Promise<void> {
    while (this.running) {
      try {
        const r = await fetch(`${gateway.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            model: 'chat',
            messages: [{ role: 'user', content: 'cache probe' }],
            temperature: 0,
            max_tokens: 4,
            user: this.users[who],
          }),
        });
        const body = (await r.json()) as { model?: string };
        this.samples.push({
          at: Date.now(),
          who,
          model: r.ok ? (body.model ?? '?') : '?',
          cache: r.headers.get('x-beastmode-cache') ?? '?',
          revision: r.headers.get('x-beastmode-config-revision') ?? '?',
          ...(r.ok ? {} : { error: `status ${r.status}` }),
        });
      } catch (e) {
        this.samples.push({ at: Date.now(), who, model: '?', cache: '?', revision: '?', error: String(e) });
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** A user whose sticky bucket on the route lies in [from, to): the gateway's own canary assignment. */
function userInBuckets(from: number, to: number): string {
  for (let i = 0; ; i++) {
    const b = bucketOf(`probe-${i}`, `${ns}/chat`);
    if (b >= from && b < to) return `probe-${i}`;
  }
}

let status: CanaryStatusLog;
let traffic: Traffic;

beforeAll(async () => {
  client = KubeClient.fromFile(kubeconfigPath());
  await createRolloutNamespace(ns);
  sims.a = await startSimulator({ faults: { latencyMs: 5 } });
  sims.b = await startSimulator({ faults: { latencyMs: 5 } });
  sims.bad = await startSimulator({ faults: { latencyMs: 5, errorRate: 0.2, errorStatus: 500 } });
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
          backends: [simulatorBackend(sims.a, 'm1')],
          // Traffic sets no temperature (not cached); the cache probe's deterministic requests are.
          cache: { mode: 'exact', scope: 'route', ttl: '10m' },
        },
      },
      R.ModelRoute,
    ],
    [
      {
        apiVersion: 'beastmode.dev/v1alpha1',
        kind: 'Canary',
        metadata: { name: 'chat', namespace: ns },
        spec: {
          routeRef: { name: 'chat' },
          backend: 'main',
          steps: [1, 5, 25, 50, 100],
          interval: `${INTERVAL_S}s`,
          analysis: {
            minRequests: 5,
            failureThreshold: 1,
            progressDeadline: '2m',
            metrics: [
              { name: 'error-rate', max: 0.05 },
              { name: 'latency-p95', max: 500 },
            ],
          },
        },
      },
      R.Canary,
    ],
  ]);
  gateway = await startMainGateway(client, ns);
  await startOp();
  status = new CanaryStatusLog(canaryStatus);
  status.start();
  traffic = new Traffic({ gatewayUrl: gateway.url, model: 'chat' });
  await eventually('the canary to idle on the stable spec', async () =>
    (await canaryStatus()).phase === 'Idle' ? true : undefined,
  );
  await waitUntilServed(gateway, 'chat');
}, TIMEOUT_MS);

afterAll(async () => {
  status?.stop();
  await traffic?.stop();
  await tearDownRollout(ns, { operator, gateway, sims });
}, TIMEOUT_MS);

/**
 * The bad version's cached answer reached its cohort during the rollout and never the stable user; once the
 * gateway serves the rolled-back config, no answer is the bad version's. Prints the fence time: from status
 * RolledBack to the canary user's first answer without the bad cached one (negative: the gateway had the
 * rolled-back config before the status poll saw RolledBack).
 */
async function expectCacheFencedAtRollback(samples: Probe[], rolledBackAt: number): Promise<void> {
  const canary = samples.filter((p) => p.who === 'canary' && p.error === undefined);
  const badHits = canary.filter((p) => p.model === 'm3' && p.cache === 'hit');
  const lastBad = canary.filter((p) => p.model === 'm3').at(-1);
  const firstGood = canary.find((p) => p.at > (lastBad?.at ?? 0));
  const rolledBackRevision = canary.at(-1)?.revision;
  const metrics = await gateway.state.metrics.registry.metrics();
  const fencedAt = 1000 * Number(/^beastmode_cache_last_fence_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
  const fenced = /^beastmode_cache_fenced_entries_total\{store="memory"\} (\S+)$/m.exec(metrics)?.[1] ?? '0';
  const fenceMs = (firstGood?.at ?? Number.NaN) - rolledBackAt;
  log(
    `cache: ${badHits.length} hits of the bad version's cached answer in its cohort before the rollback; ` +
      `fence: first answer without it ${fenceMs} ms after status RolledBack (gateway fenced ` +
      `${fencedAt - rolledBackAt} ms after it; ${fenced} entries purged in all); ` +
      `stable user: ${samples.filter((p) => p.who === 'stable').length} answers, none of the bad version`,
  );
  expect(badHits.length).toBeGreaterThan(0);
  expect(samples.filter((p) => p.who === 'stable' && p.model === 'm3')).toEqual([]);
  expect(firstGood).toBeDefined();
  expect(fenceMs).toBeLessThan(5000);
  expect(canary.filter((p) => p.revision === rolledBackRevision && p.model === 'm3')).toEqual([]);
}

describe('canary on a real control plane', () => {
  test(
    'a healthy version goes 1 → 5 → 25 → 50 → 100 with the traffic share of each weight and no client error',
    async () => {
      traffic.start(6, { rps: 150 });
      await new Promise((r) => setTimeout(r, 2000));
      const t0 = Date.now();
      await setRouteBackend(sims.b, 'm2');
      await eventually(
        'promotion',
        async () => ((await canaryStatus()).phase === 'Succeeded' ? true : undefined),
        120_000,
      );
      const t1 = Date.now();
      await new Promise((r) => setTimeout(r, 2000));
      const weights = status.since(t0).map((e) => e.weight);
      const distinct = weights.filter((w, i) => i === 0 || w !== weights[i - 1]);
      log(`weights seen: ${distinct.join(' → ')} in ${((t1 - t0) / 1000).toFixed(1)} s`);
      expect(distinct.filter((w) => w > 0)).toEqual([1, 5, 25, 50, 100]);
      // Share per step: responses from 1.5 s after the step began (config propagation) to its end.
      const entries = status.since(t0);
      for (const w of [1, 5, 25, 50]) {
        const i = entries.findIndex((e) => e.weight === w);
        const from = (entries[i]?.at ?? 0) + 1500;
        const to = entries[i + 1]?.at ?? Date.now();
        const s = traffic.samples.filter((x) => x.at >= from && x.at < to && !x.error);
        const share = (100 * s.filter((x) => x.variant === 'canary').length) / Math.max(1, s.length);
        const tolerance = 3 * Math.sqrt((w * (100 - w)) / Math.max(1, s.length)) + 1;
        log(
          `weight ${w}%: ${s.length} responses, canary share ${share.toFixed(2)}% (tolerance ±${tolerance.toFixed(2)})`,
        );
        expect(Math.abs(share - w)).toBeLessThanOrEqual(tolerance);
      }
      const after = traffic.samples.filter((x) => x.at > t1 + 1500 && !x.error);
      expect(after.every((x) => x.variant === 'stable' && x.model === 'm2')).toBe(true);
      expect(traffic.errors()).toEqual([]);
      await ok(['wait', '--for=condition=Ready', 'canary/chat', '-n', ns, '--timeout=10s']);
    },
    TIMEOUT_MS,
  );

  test(
    'a bad version (20% errors) is rolled back within 15 s of taking traffic, and its cached answers with it',
    async () => {
      const probe = new CacheProbe();
      probe.start();
      const t0 = Date.now();
      await setRouteBackend(sims.bad, 'm3');
      const st = await eventually(
        'rollback',
        async () => {
          const s = await canaryStatus();
          return s.phase === 'RolledBack' ? s : undefined;
        },
        90_000,
      );
      const entries = status.since(t0);
      const firstTraffic = entries.find((e) => e.weight > 0)?.at ?? t0;
      const zero = entries.find((e) => e.phase === 'RolledBack')?.at ?? Date.now();
      await new Promise((r) => setTimeout(r, 2000));
      const canaryAnswers = traffic.samples.filter((x) => x.at >= t0 && x.model === 'm3');
      const lastBad = canaryAnswers.at(-1)?.at ?? zero;
      const firstBad = canaryAnswers[0]?.at ?? firstTraffic;
      log(
        `rollback: status weight ${entries.find((e) => e.weight > 0)?.weight ?? '?'}% → 0 in ${((zero - firstTraffic) / 1000).toFixed(1)} s; ` +
          `first to last answer of the bad version ${((lastBad - firstBad) / 1000).toFixed(1)} s; ${canaryAnswers.length} answers; ` +
          `client errors ${traffic.errors(t0).length}; ${st.message ?? ''}`,
      );
      expect(zero - firstTraffic).toBeLessThan(15_000);
      expect(lastBad - firstBad).toBeLessThan(15_000);
      const k = await client.get(R.Canary, ns, 'chat');
      const conds = (k.status as CanaryStatus).conditions ?? [];
      expect(conds.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'RolledBack' });
      expect(conds.find((c) => c.type === 'Ready')).toMatchObject({ status: 'False' });
      expect(await cli(['canary', 'status', 'chat'])).toContain('Phase:       RolledBack');
      await probe.stop();
      await expectCacheFencedAtRollback(
        probe.samples.filter((p) => p.at >= t0),
        zero,
      );
    },
    TIMEOUT_MS,
  );

  test(
    'low traffic holds the step (inconclusive, not failed); abort from the CLI rolls back at once',
    async () => {
      await traffic.stop();
      traffic.start(1, { rps: 1 });
      await setRouteBackend(sims.b, 'm4');
      await eventually('progressing', async () =>
        (await canaryStatus()).phase === 'Progressing' ? true : undefined,
      );
      await new Promise((r) => setTimeout(r, (3 * INTERVAL_S + 1) * 1000));
      const st = await canaryStatus();
      log(
        `low traffic: phase ${st.phase}, weight ${st.canaryWeight}, inconclusive ${st.inconclusiveWindows}, failed ${st.failedWindows}`,
      );
      expect(st).toMatchObject({ phase: 'Progressing', canaryWeight: 1, failedWindows: 0 });
      expect(st.inconclusiveWindows).toBeGreaterThanOrEqual(2);
      const t = Date.now();
      await cli(['canary', 'abort', 'chat']);
      await eventually(
        'aborted',
        async () => ((await canaryStatus()).phase === 'RolledBack' ? true : undefined),
        10_000,
      );
      log(`abort to RolledBack in ${Date.now() - t} ms`);
      await client.mergePatch(R.Canary, ns, 'chat', { spec: { abort: false } });
      await traffic.stop();
    },
    TIMEOUT_MS,
  );

  test(
    'SIGKILL of the operator in each phase: the rollout resumes from status and promotes once',
    async () => {
      traffic.start(6, { rps: 150 });
      await client.mergePatch(R.Canary, ns, 'chat', { spec: { promotion: { mode: 'manual' } } });
      const t0 = Date.now();
      const kill = async (when: string) => {
        await operator?.stop('SIGKILL');
        log(`SIGKILL while ${when}`);
        await new Promise((r) => setTimeout(r, 1000));
        await startOp();
      };
      await setRouteBackend(sims.b, 'm5');
      await eventually('weight 5', async () =>
        ((await canaryStatus()).canaryWeight ?? 0) >= 5 ? true : undefined,
      );
      await kill('progressing at 5%');
      await eventually(
        'paused for promotion',
        async () => ((await canaryStatus()).phase === 'Paused' ? true : undefined),
        120_000,
      );
      await kill('paused at 50%');
      await new Promise((r) => setTimeout(r, (INTERVAL_S + 1) * 1000));
      expect(await canaryStatus()).toMatchObject({ phase: 'Paused', canaryWeight: 50 });
      expect(await cli(['canary', 'promote', 'chat'])).toContain('approved revision');
      await eventually('promoting', async () => {
        const p = (await canaryStatus()).phase;
        return p === 'Promoting' || p === 'Succeeded' ? true : undefined;
      });
      await kill('promoting');
      await eventually('succeeded', async () =>
        (await canaryStatus()).phase === 'Succeeded' ? true : undefined,
      );
      await ok(['wait', '--for=condition=Ready', 'canary/chat', '-n', ns, '--timeout=10s']);
      const weights = status.since(t0).map((e) => e.weight);
      const distinct = weights.filter((w, i) => i === 0 || w !== weights[i - 1]);
      log(`weights seen across restarts: ${distinct.join(' → ')}`);
      const rising = distinct.slice(0, distinct.lastIndexOf(100) + 1);
      expect(rising).toEqual([...rising].sort((a, b) => a - b));
      const events = await listEvents(ns);
      const stableRev = (await canaryStatus()).stableRevision ?? '?';
      const promoted = events.filter((e) => e.reason === 'Promoted' && (e.note ?? '').includes(stableRev));
      expect(promoted).toHaveLength(1);
      expect(traffic.errors(t0)).toEqual([]);
      await traffic.stop();
    },
    TIMEOUT_MS,
  );
});
