import { describe, expect, it } from '@jest/globals';
import { API_VERSION, type AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import type { PolicyMetrics, PolicyView, SignalType } from '../autoscaling/policy-metrics.js';
import { silentLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import type { ControllerContext } from '../runtime/framework.js';
import { createAutoscalingPolicyController } from './autoscalingpolicy.js';

const policy: AutoscalingPolicy = {
  apiVersion: API_VERSION,
  kind: 'AutoscalingPolicy',
  metadata: { name: 'gw', namespace: 'llm', uid: 'a1', generation: 1 },
  spec: {
    targetRef: { kind: 'ModelGateway', name: 'main' },
    minReplicas: 2,
    maxReplicas: 8,
    metrics: [
      { type: 'inflight-requests', targetAverage: 10 },
      { type: 'requests-per-second', targetAverage: 5 },
    ],
    predictive: { horizon: '10m', seasonality: '24h' },
    fallback: { failureThreshold: 3, replicas: 4 },
  },
};

const hpa: KubeObject = {
  metadata: { name: 'gw-autoscaler', namespace: 'llm' },
  status: { currentReplicas: 3, desiredReplicas: 5 },
};

/** The runtime's view of the policy: in flight measured, the request rate not (yet), a first forecast. */
const runtime = {
  inFallback: () => false,
  forecastStatus: () => ({ requestsPerSecond: 12.5, accuracy: undefined }),
  measured: (_p: PolicyView, type: SignalType) => (type === 'inflight-requests' ? 27 : undefined),
} as unknown as PolicyMetrics;

function harness() {
  let live: AutoscalingPolicy | undefined = policy;
  const metrics = createMetrics(false);
  metrics.isLeader.set(1);
  const objects: Record<string, KubeObject | undefined> = {
    ModelGateway: { metadata: { name: 'main', namespace: 'llm' } },
    HorizontalPodAutoscaler: hpa,
  };
  const ctx = {
    cache: {
      get: (kind: string) => (kind === 'AutoscalingPolicy' ? live : objects[kind]),
      list: () => [],
      byIndex: () => [],
    },
    apply: () => Promise.resolve(true),
    patchStatus: () => Promise.resolve(true),
    events: { emit: () => undefined },
    metrics,
    log: silentLogger(),
    now: () => Date.parse('2026-01-01T00:00:00Z'),
  } as unknown as ControllerContext;
  const controller = createAutoscalingPolicyController({ metrics: runtime });
  return {
    metrics,
    reconcile: () => controller.reconcile('llm/gw', ctx),
    delete: () => {
      live = undefined;
    },
    async series(name: string): Promise<Record<string, number>> {
      const values = (await metrics.registry.getSingleMetric(name)?.get())?.values ?? [];
      return Object.fromEntries(values.map((v) => [Object.values(v.labels).join('/'), v.value]));
    },
  };
}

describe('the autoscaling policy controller', () => {
  it("exports the HPA's replicas, the measured signals against their targets and the forecast", async () => {
    const h = harness();
    await h.reconcile();
    expect(await h.series('beastmode_autoscaling_replicas')).toEqual({
      'llm/gw/ModelGateway/main/current': 3,
      'llm/gw/ModelGateway/main/desired': 5,
      'llm/gw/ModelGateway/main/min': 2,
      'llm/gw/ModelGateway/main/max': 8,
    });
    expect(await h.series('beastmode_autoscaling_signal')).toEqual({ 'llm/gw/inflight-requests': 27 });
    expect(await h.series('beastmode_autoscaling_signal_target')).toEqual({
      'llm/gw/inflight-requests': 10,
      'llm/gw/requests-per-second': 5,
    });
    expect(await h.series('beastmode_autoscaling_forecast')).toEqual({ 'llm/gw/requests-per-second': 12.5 });
    expect(await h.series('beastmode_autoscaling_forecast_accuracy')).toEqual({});
    expect(await h.series('beastmode_autoscaling_fallback')).toEqual({ 'llm/gw': 0 });
  });

  it('forgets a deleted policy', async () => {
    const h = harness();
    await h.reconcile();
    h.delete();
    await h.reconcile();
    const ours = h.metrics.registry
      .getMetricsAsArray()
      .filter((m) => m.name.startsWith('beastmode_autoscaling_'));
    expect(ours).toHaveLength(6);
    for (const m of ours) expect([m.name, await h.series(m.name)]).toEqual([m.name, {}]);
  });
});
