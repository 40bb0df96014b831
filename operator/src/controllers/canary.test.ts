import { describe, expect, it } from '@jest/globals';
import type { Canary, CanaryStatus, ModelRoute } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { StaticGatewayEndpoints } from '../rollout/providers/endpoints.js';
import { GatewayMetricProvider } from '../rollout/providers/gateway.js';
import { CANDIDATE_BACKEND, HEALTHY, newCanaryFixture } from '../../../testkit/canary.js';
import type { AnalysisResult, MetricQuery } from '../rollout/types.js';
import { createCanaryReconciler } from './canary.js';
import type { ControllerContext } from '../runtime/framework.js';

/** A fake gateway provider: answers canned figures and records the windows and baselines asked for. */
class FakeGateway extends GatewayMetricProvider {
  queries: MetricQuery[] = [];
  starts: Date[] = [];
  answer: () => AnalysisResult = () => HEALTHY;

  constructor() {
    super({ endpoints: new StaticGatewayEndpoints(new Map()) });
  }

  override analyse(q: MetricQuery): Promise<AnalysisResult> {
    this.queries.push(q);
    return Promise.resolve(this.answer());
  }

  override startWindow(q: { at: Date }): Promise<void> {
    this.starts.push(q.at);
    return Promise.resolve();
  }
}

function harness() {
  const f = newCanaryFixture();
  let canary: Canary = {
    ...f.canary,
    spec: { ...f.canary.spec },
    metadata: { ...f.canary.metadata, resourceVersion: '1' },
  };
  let route: ModelRoute | undefined = f.route;
  let clock = f.now.getTime();
  let version = 1;
  const patches: CanaryStatus[] = [];
  const events: { type: string; reason: string; note: string }[] = [];
  const metrics = createMetrics(false);
  metrics.isLeader.set(1);
  const ctx = {
    metrics,
    cache: {
      get: (kind: string) => (kind === 'Canary' ? canary : route),
      list: () => [],
      byIndex: () => [],
    },
    patchStatus: (_k: string, live: KubeObject, status: Record<string, unknown>) => {
      if (JSON.stringify(live.status ?? {}) === JSON.stringify(status)) return Promise.resolve(false);
      patches.push(status);
      canary = {
        ...canary,
        status: status,
        metadata: { ...canary.metadata, resourceVersion: String(++version) },
      };
      return Promise.resolve(true);
    },
    events: {
      emit: (_o: KubeObject, type: string, reason: string, _a: string, note: string) =>
        events.push({ type, reason, note }),
    },
    log: silentLogger(),
    now: () => clock,
  } as unknown as ControllerContext;
  const gateway = new FakeGateway();
  const reconcile = createCanaryReconciler({ gateway });
  return {
    gateway,
    metrics,
    patches,
    events,
    get canary() {
      return canary;
    },
    setCanary(c: Canary) {
      canary = c;
    },
    setRoute(r: ModelRoute | undefined) {
      route = r;
    },
    sleep(ms: number) {
      clock += ms;
    },
    reconcile: () => reconcile('llm/chat', ctx),
    /** The informer has not delivered our last write yet. */
    staleCache(status: CanaryStatus | undefined, rv: string) {
      canary = { ...canary, status, metadata: { ...canary.metadata, resourceVersion: rv } };
    },
    route: f.route,
  };
}

describe('reconcileCanary', () => {
  it('ticks through a rollout: one status patch per step, metrics only for closed windows', async () => {
    const h = harness();
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 0 });
    expect(h.canary.status?.phase).toBe('Initializing');
    await h.reconcile();
    expect(h.canary.status?.phase).toBe('Idle');
    h.setRoute({ ...h.route, spec: { ...h.route.spec, backends: [CANDIDATE_BACKEND] } });
    const out = await h.reconcile();
    expect(h.canary.status).toMatchObject({ phase: 'Progressing', canaryWeight: 1 });
    expect(out).toEqual({ requeueAfterMs: 5000 });
    expect(h.gateway.queries).toHaveLength(0);
    expect(h.gateway.starts).toHaveLength(1);
    const patches = h.patches.length;
    h.sleep(2000);
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 3000 });
    expect(h.patches.length).toBe(patches);
    h.sleep(3000);
    await h.reconcile();
    expect(h.canary.status?.canaryWeight).toBe(5);
    expect(h.gateway.queries).toHaveLength(1);
    expect(h.gateway.queries[0]).toMatchObject({
      namespace: 'llm',
      route: 'chat',
      backend: 'main',
      gateway: 'default',
    });
    const w = h.gateway.queries[0]!;
    expect(w.until.getTime() - w.since.getTime()).toBe(5000);
    expect(h.events.map((e) => e.reason)).toEqual([
      'Initializing',
      'Progressing',
      'Progressing',
      'Progressing',
    ]);
  });

  it('waits for the cache to show its own last write before stepping again', async () => {
    const h = harness();
    await h.reconcile();
    const written = h.canary.status;
    h.staleCache(undefined, '1');
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 100 });
    expect(h.patches).toHaveLength(1);
    h.staleCache(written, '2');
    await h.reconcile();
    expect(h.canary.status?.phase).toBe('Idle');
  });

  it('rolls back on a failing window, emitting a Warning event with the figures', async () => {
    const h = harness();
    h.setCanary({
      ...h.canary,
      spec: { ...h.canary.spec, analysis: { ...h.canary.spec.analysis, failureThreshold: 1 } },
    });
    await h.reconcile();
    await h.reconcile();
    h.setRoute({ ...h.route, spec: { ...h.route.spec, backends: [CANDIDATE_BACKEND] } });
    await h.reconcile();
    h.gateway.answer = () => ({ stable: HEALTHY.stable, canary: { ...HEALTHY.canary, errorRate: 0.3 } });
    h.sleep(5000);
    await h.reconcile();
    expect(h.canary.status).toMatchObject({ phase: 'RolledBack', canaryWeight: 0 });
    expect(h.events.at(-1)).toMatchObject({ type: 'Warning', reason: 'RolledBack' });
    expect(h.events.at(-1)?.note).toContain('error-rate 0.3 > max 0.01');
  });

  it('treats a provider error as an inconclusive window', async () => {
    const h = harness();
    await h.reconcile();
    await h.reconcile();
    h.setRoute({ ...h.route, spec: { ...h.route.spec, backends: [CANDIDATE_BACKEND] } });
    await h.reconcile();
    h.gateway.answer = () => {
      throw new Error('connection refused');
    };
    h.sleep(5000);
    await h.reconcile();
    expect(h.canary.status).toMatchObject({ phase: 'Progressing', canaryWeight: 1, inconclusiveWindows: 1 });
  });

  it('marks an invalid spec Stalled with a readable message', async () => {
    const h = harness();
    h.setCanary({ ...h.canary, spec: { ...h.canary.spec, steps: [50, 10] } });
    await h.reconcile();
    const stalled = h.canary.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(stalled?.message).toContain('steps must end at 100');
  });

  it('exports the weights and verdicts it decides, counts a rollback once and forgets a deleted canary', async () => {
    const h = harness();
    const series = async (name: string) =>
      Object.fromEntries(
        ((await h.metrics.registry.getSingleMetric(name)?.get())?.values ?? []).map((v) => [
          Object.values(v.labels).join('/'),
          v.value,
        ]),
      );
    await h.reconcile();
    await h.reconcile();
    h.setRoute({ ...h.route, spec: { ...h.route.spec, backends: [CANDIDATE_BACKEND] } });
    await h.reconcile();
    expect(await series('beastmode_canary_weight')).toEqual({ 'llm/chat/canary': 1, 'llm/chat/stable': 99 });
    h.sleep(5000);
    await h.reconcile();
    expect(await series('beastmode_canary_weight')).toMatchObject({ 'llm/chat/canary': 5 });
    expect(await series('beastmode_canary_analysis_total')).toMatchObject({
      'llm/chat/passed': 1,
      'llm/chat/failed': 0,
    });
    h.gateway.answer = () => ({ stable: HEALTHY.stable, canary: { ...HEALTHY.canary, errorRate: 0.3 } });
    for (let i = 0; i < 3; i++) {
      h.sleep(5000);
      await h.reconcile();
    }
    expect(h.canary.status?.phase).toBe('RolledBack');
    expect(await series('beastmode_canary_weight')).toEqual({ 'llm/chat/canary': 0, 'llm/chat/stable': 100 });
    expect(await series('beastmode_canary_analysis_total')).toMatchObject({
      'llm/chat/passed': 1,
      'llm/chat/failed': 2,
    });
    expect(await series('beastmode_canary_analysis_value')).toMatchObject({
      'llm/chat/canary/error-rate': 0.3,
    });
    expect(await series('beastmode_canary_rollbacks_total')).toEqual({
      'llm/chat/RolledBack': 1,
      'llm/chat/Aborted': 0,
      'llm/chat/ProgressDeadlineExceeded': 0,
    });
    expect(await series('beastmode_canary_phase')).toMatchObject({ 'llm/chat/RolledBack': 1 });

    h.setCanary(undefined as never);
    await h.reconcile();
    const left = h.metrics.registry.getMetricsAsArray().filter((m) => m.name.startsWith('beastmode_canary_'));
    expect(left.length).toBeGreaterThan(0);
    for (const m of left) expect([m.name, await series(m.name)]).toEqual([m.name, {}]);
  });

  it('does nothing for a deleted canary', async () => {
    const h = harness();
    h.setCanary(undefined as never);
    expect(await h.reconcile()).toBeUndefined();
  });
});
