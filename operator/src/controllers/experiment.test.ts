import { describe, expect, it } from '@jest/globals';
import type { Experiment, ExperimentStatus, ModelRoute } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { silentLogger } from '../observability/logger.js';
import { StaticGatewayEndpoints } from '../rollout/providers/endpoints.js';
import type { ControllerContext } from '../runtime/framework.js';
import { createExperimentReconciler } from './experiment.js';

const route: ModelRoute = {
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelRoute',
  metadata: { name: 'chat', namespace: 'llm' },
  spec: {
    gatewayRef: { name: 'main' },
    model: 'chat',
    backends: [
      { name: 'slow', url: 'http://slow/v1' },
      { name: 'fast', url: 'http://fast/v1' },
    ],
  },
} as unknown as ModelRoute;

const spec = {
  routeRef: { name: 'chat' },
  variants: [
    { name: 'control', backend: 'slow' },
    { name: 'fast', backend: 'fast' },
  ],
  primary: { metric: 'latency-ms', minimumDetectableEffect: 20 },
  minSamplesPerVariant: 30,
  interval: '5s',
  promotion: 'auto',
};

/** Prometheus text of one pod: observations of latency with mean and sd per variant (exact moments). */
function podText(v: Record<string, { n: number; mean: number; sd: number }>, experiment = 'speed'): string {
  return Object.entries(v)
    .flatMap(([variant, { n, mean, sd }]) => {
      const l = `namespace="llm",route="chat",experiment="${experiment}",variant="${variant}",metric="latency-ms"`;
      return [
        `beastmode_experiment_observations_total{${l}} ${n}`,
        `beastmode_experiment_value_sum{${l}} ${n * mean}`,
        `beastmode_experiment_value_squares_sum{${l}} ${(n - 1) * sd * sd + n * mean * mean}`,
      ];
    })
    .join('\n');
}

function harness(experimentSpec: Record<string, unknown> = spec, others: Experiment[] = []) {
  let exp: Experiment = {
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'Experiment',
    metadata: {
      name: 'speed',
      namespace: 'llm',
      generation: 1,
      resourceVersion: '1',
      creationTimestamp: '2026-01-01T00:00:00Z',
    },
    spec: experimentSpec as Experiment['spec'],
  };
  let version = 1;
  let clock = Date.parse('2026-01-01T00:00:00Z');
  const patches: ExperimentStatus[] = [];
  const events: { type: string; reason: string; note: string }[] = [];
  const pods: Record<string, string | Error> = { 'http://p1/metrics': '', 'http://p2/metrics': '' };
  const ctx = {
    cache: {
      get: (kind: string) => (kind === 'Experiment' ? exp : kind === 'ModelRoute' ? route : undefined),
      list: () => [],
      byIndex: () => [exp, ...others],
    },
    patchStatus: (_k: string, live: KubeObject, status: Record<string, unknown>) => {
      if (JSON.stringify(live.status ?? {}) === JSON.stringify(status)) return Promise.resolve(false);
      patches.push(status);
      exp = { ...exp, status, metadata: { ...exp.metadata, resourceVersion: String(++version) } };
      return Promise.resolve(true);
    },
    events: {
      emit: (_o: KubeObject, type: string, reason: string, _a: string, note: string) =>
        events.push({ type, reason, note }),
    },
    log: silentLogger(),
    now: () => clock,
  } as unknown as ControllerContext;
  const reconcile = createExperimentReconciler({
    endpoints: new StaticGatewayEndpoints(new Map([['llm/main', Object.keys(pods)]])),
    scrape: (url) => {
      const p = pods[url];
      return p instanceof Error || p === undefined
        ? Promise.reject(p ?? new Error('gone'))
        : Promise.resolve(p);
    },
  });
  return {
    pods,
    patches,
    events,
    get exp() {
      return exp;
    },
    staleCache(rv: string) {
      exp = { ...exp, metadata: { ...exp.metadata, resourceVersion: rv } };
    },
    sleep(ms: number) {
      clock += ms;
    },
    reconcile: () => reconcile('llm/speed', ctx),
  };
}

describe('reconcileExperiment (controller)', () => {
  it('scrapes every pod each interval, sums their deltas, and promotes the faster variant', async () => {
    const h = harness();
    h.pods['http://p1/metrics'] = podText({ control: { n: 100, mean: 60, sd: 5 } }); // before the start
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 5000 });
    expect(h.exp.status?.phase).toBe('Running');
    expect(h.events.map((e) => e.reason)).toEqual(['Started']);
    // Between ticks: nothing is scraped or written.
    h.sleep(2000);
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 3000 });
    expect(h.patches).toHaveLength(1);
    h.sleep(3000);
    h.pods['http://p1/metrics'] = podText({
      control: { n: 120, mean: 60, sd: 5 },
      fast: { n: 10, mean: 5, sd: 1 },
    });
    h.pods['http://p2/metrics'] = new Error('connection refused');
    await h.reconcile();
    const counts = () => h.exp.status?.variants?.map((v) => v.moments?.['latency-ms']?.count);
    expect(counts()).toEqual([20, 10]);
    expect(h.exp.status?.message).toContain('collecting latency-ms: control 20, fast 10');
    h.sleep(5000);
    h.pods['http://p1/metrics'] = podText({
      control: { n: 140, mean: 60, sd: 5 },
      fast: { n: 30, mean: 5, sd: 1 },
    });
    h.pods['http://p2/metrics'] = podText({
      control: { n: 20, mean: 60, sd: 5 },
      fast: { n: 20, mean: 5, sd: 1 },
    });
    expect(await h.reconcile()).toBeUndefined();
    expect(counts()).toEqual([60, 50]);
    expect(h.exp.status).toMatchObject({ phase: 'Promoted', winner: 'fast', promotedVariant: 'fast' });
    expect(h.events.map((e) => e.reason)).toEqual(['Started', 'Winner', 'Promoted']);
    expect(h.events[1]?.note).toContain('fast vs control: latency-ms improvement 55');
  });

  it('waits for the cache to show its own write before ticking again', async () => {
    const h = harness();
    await h.reconcile();
    h.staleCache('1');
    h.sleep(1000);
    expect(await h.reconcile()).toEqual({ requeueAfterMs: 100 });
    expect(h.patches).toHaveLength(1);
  });

  it('an invalid spec is Stalled with the schema message', async () => {
    const h = harness({ ...spec, variants: [{ name: 'only', backend: 'slow' }] });
    await h.reconcile();
    const stalled = h.exp.status?.conditions?.find((c) => c.type === 'Stalled');
    expect(stalled).toMatchObject({ status: 'True', reason: 'InvalidSpec' });
    expect(stalled?.message).toContain('variants');
  });

  it('a second experiment on the route is refused while the older one owns it', async () => {
    const older: Experiment = {
      apiVersion: 'beastmode.dev/v1alpha1',
      kind: 'Experiment',
      metadata: { name: 'first', namespace: 'llm', creationTimestamp: '2025-12-31T00:00:00Z' },
      spec: spec as Experiment['spec'],
    };
    const h = harness(spec, [older]);
    await h.reconcile();
    expect(h.exp.status?.phase).toBe('Pending');
    expect(h.exp.status?.conditions?.find((c) => c.type === 'Stalled')).toMatchObject({
      reason: 'ExperimentConflict',
      message: 'the older Experiment first already splits route chat',
    });
    expect(h.events).toEqual([expect.objectContaining({ type: 'Warning', reason: 'ExperimentConflict' })]);
  });
});
