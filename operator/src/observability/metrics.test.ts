import { describe, expect, it } from '@jest/globals';
import type { Canary, CanaryStatus } from '../../../api/v1alpha1/index.js';
import { newCanaryFixture } from '../../../testkit/canary.js';
import type { AutoscalingReport } from './autoscaling-metrics.js';
import { createMetrics, type OperatorMetrics } from './metrics.js';

/** The samples of one metric as a scrape sees them (its collect runs first), as "labels → value". */
async function samples(m: OperatorMetrics, name: string): Promise<Record<string, number>> {
  const metric = m.registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`${name} is not registered`);
  const out: Record<string, number> = {};
  for (const v of (await metric.get()).values) {
    const labels = Object.entries(v.labels)
      .map(([k, l]) => `${k}=${String(l)}`)
      .join(',');
    out[labels] = v.value;
  }
  return out;
}

function leader(): OperatorMetrics {
  const m = createMetrics(false);
  m.isLeader.set(1);
  return m;
}

function canaryOf(status: CanaryStatus): { canary: Canary; after: CanaryStatus } {
  const { canary } = newCanaryFixture();
  return { canary, after: status };
}

const progressing: CanaryStatus = {
  phase: 'Progressing',
  canaryWeight: 25,
  currentStep: 2,
  lastAnalysis: {
    verdict: 'passed',
    stable: { requests: 4000, errorRate: 0.002, latencyP95Ms: 150 },
    canary: { requests: 120, errorRate: 0.004, latencyP95Ms: 180, feedbackScore: 0.8 },
  },
};

const ready = (reason: string) => [
  {
    type: 'Ready',
    status: 'False' as const,
    reason,
    message: '',
    lastTransitionTime: '2026-01-01T00:00:00Z',
  },
];

describe('the canary metrics', () => {
  it('export the weights, step, phase and the last window against the bounds', async () => {
    const m = leader();
    m.canaries.report({ ...canaryOf(progressing), before: undefined, verdict: 'passed' });
    const l = 'namespace=llm,canary=chat';
    expect(await samples(m, 'beastmode_canary_weight')).toEqual({
      [`${l},variant=canary`]: 25,
      [`${l},variant=stable`]: 75,
    });
    expect(await samples(m, 'beastmode_canary_step')).toEqual({ [l]: 3 });
    const phases = await samples(m, 'beastmode_canary_phase');
    expect(Object.keys(phases)).toHaveLength(8);
    expect(Object.entries(phases).filter(([, v]) => v === 1)).toEqual([[`${l},phase=Progressing`, 1]]);
    // Every counter starts at 0 so that increase() sees a first verdict, promotion or rollback.
    expect(await samples(m, 'beastmode_canary_analysis_total')).toEqual({
      [`${l},verdict=passed`]: 1,
      [`${l},verdict=failed`]: 0,
      [`${l},verdict=inconclusive`]: 0,
    });
    expect(await samples(m, 'beastmode_canary_promotions_total')).toEqual({ [l]: 0 });
    expect(Object.values(await samples(m, 'beastmode_canary_rollbacks_total'))).toEqual([0, 0, 0]);
    const values = await samples(m, 'beastmode_canary_analysis_value');
    expect(values).toMatchObject({
      [`${l},variant=canary,metric=error-rate`]: 0.004,
      [`${l},variant=canary,metric=latency-p95`]: 180,
      [`${l},variant=canary,metric=feedback-score`]: 0.8,
      [`${l},variant=canary,metric=requests`]: 120,
      [`${l},variant=stable,metric=latency-p95`]: 150,
    });
    // A figure the window lacked has no series rather than a made-up 0.
    expect(values[`${l},variant=canary,metric=ttft-p95`]).toBeUndefined();
    expect(values[`${l},variant=stable,metric=feedback-score`]).toBeUndefined();
    expect(await samples(m, 'beastmode_canary_analysis_threshold')).toEqual({
      [`${l},metric=requests,bound=min`]: 50,
      [`${l},metric=error-rate,bound=max`]: 0.01,
      [`${l},metric=latency-p95,bound=max`]: 500,
    });
  });

  it('count a promotion and a rollback once, by reason, on the tick that makes it', async () => {
    const m = leader();
    const { canary } = newCanaryFixture();
    const promoting: CanaryStatus = { phase: 'Promoting', canaryWeight: 100, currentStep: 3 };
    const succeeded: CanaryStatus = { phase: 'Succeeded', canaryWeight: 0 };
    m.canaries.report({ canary, before: promoting, after: succeeded });
    m.canaries.report({ canary, before: succeeded, after: succeeded });
    const rolledBack: CanaryStatus = {
      phase: 'RolledBack',
      canaryWeight: 0,
      conditions: ready('ProgressDeadlineExceeded'),
    };
    m.canaries.report({ canary, before: progressing, after: rolledBack });
    m.canaries.report({ canary, before: rolledBack, after: rolledBack });
    const l = 'namespace=llm,canary=chat';
    expect(await samples(m, 'beastmode_canary_promotions_total')).toEqual({ [l]: 1 });
    expect(await samples(m, 'beastmode_canary_rollbacks_total')).toEqual({
      [`${l},reason=RolledBack`]: 0,
      [`${l},reason=Aborted`]: 0,
      [`${l},reason=ProgressDeadlineExceeded`]: 1,
    });
    expect(await samples(m, 'beastmode_canary_step')).toEqual({ [l]: 0 });
    expect(await samples(m, 'beastmode_canary_weight')).toMatchObject({ [`${l},variant=stable`]: 100 });
  });

  it('drop the figures when a new rollout clears them and every series when the Canary is deleted', async () => {
    const m = leader();
    const { canary } = newCanaryFixture();
    m.canaries.report({ canary, before: undefined, after: progressing, verdict: 'failed' });
    const restarted: CanaryStatus = { phase: 'Progressing', canaryWeight: 1, currentStep: 0 };
    m.canaries.report({ canary, before: progressing, after: restarted });
    expect(await samples(m, 'beastmode_canary_analysis_value')).toEqual({});
    m.canaries.report({ canary, before: restarted, after: { ...restarted, phase: 'RolledBack' } });
    m.canaries.forget('llm', 'chat');
    for (const metric of m.registry.getMetricsAsArray().filter((x) => x.name.startsWith('beastmode_canary_')))
      expect([metric.name, await samples(m, metric.name)]).toEqual([metric.name, {}]);
  });

  it('are served by the leader only: a standby, or a leader that lost the lease, serves none', async () => {
    const m = createMetrics(false);
    m.canaries.report({ ...canaryOf(progressing), before: undefined, verdict: 'passed' });
    m.autoscaling.report(policyReport());
    expect(await samples(m, 'beastmode_canary_weight')).toEqual({});
    expect(await samples(m, 'beastmode_autoscaling_replicas')).toEqual({});
    const text = await m.registry.metrics();
    expect(text).toContain('# TYPE beastmode_canary_weight gauge');
    expect(text).not.toMatch(/^beastmode_(canary|autoscaling)_/m);

    m.isLeader.set(1);
    m.canaries.report({ ...canaryOf(progressing), before: undefined });
    expect(Object.keys(await samples(m, 'beastmode_canary_weight'))).toHaveLength(2);
    m.isLeader.set(0);
    expect(await samples(m, 'beastmode_canary_weight')).toEqual({});
  });
});

function policyReport(patch: Partial<AutoscalingReport> = {}): AutoscalingReport {
  return {
    namespace: 'llm',
    policy: 'gw',
    target: 'ModelGateway/main',
    replicas: { current: 3, desired: 5, min: 2, max: 10 },
    signals: { 'inflight-requests': 42, 'ttft-p95': 0.35 },
    targets: { 'inflight-requests': 8, 'ttft-p95': 0.5 },
    forecast: { value: 120, accuracy: 0.9 },
    fallback: false,
    ...patch,
  };
}

describe('the autoscaling metrics', () => {
  it('export replicas, signals against targets, the forecast and the fallback', async () => {
    const m = leader();
    m.autoscaling.report(policyReport());
    const l = 'namespace=llm,policy=gw';
    expect(await samples(m, 'beastmode_autoscaling_replicas')).toEqual({
      [`${l},target=ModelGateway/main,kind=current`]: 3,
      [`${l},target=ModelGateway/main,kind=desired`]: 5,
      [`${l},target=ModelGateway/main,kind=min`]: 2,
      [`${l},target=ModelGateway/main,kind=max`]: 10,
    });
    expect(await samples(m, 'beastmode_autoscaling_signal')).toEqual({
      [`${l},signal=inflight-requests`]: 42,
      [`${l},signal=ttft-p95`]: 0.35,
    });
    expect(await samples(m, 'beastmode_autoscaling_signal_target')).toEqual({
      [`${l},signal=inflight-requests`]: 8,
      [`${l},signal=ttft-p95`]: 0.5,
    });
    expect(await samples(m, 'beastmode_autoscaling_forecast')).toEqual({
      [`${l},signal=requests-per-second`]: 120,
    });
    expect(await samples(m, 'beastmode_autoscaling_forecast_accuracy')).toEqual({
      [`${l},signal=requests-per-second`]: 0.9,
    });
    expect(await samples(m, 'beastmode_autoscaling_fallback')).toEqual({ [l]: 0 });
  });

  it('drop what a reconcile no longer sees, the old target, and everything once the policy is deleted', async () => {
    const m = leader();
    m.autoscaling.report(policyReport());
    m.autoscaling.report(
      policyReport({
        target: 'Deployment/vllm',
        replicas: { min: 1, max: 4 },
        signals: {},
        forecast: undefined,
        fallback: undefined,
      }),
    );
    const l = 'namespace=llm,policy=gw';
    expect(await samples(m, 'beastmode_autoscaling_replicas')).toEqual({
      [`${l},target=Deployment/vllm,kind=min`]: 1,
      [`${l},target=Deployment/vllm,kind=max`]: 4,
    });
    expect(await samples(m, 'beastmode_autoscaling_signal')).toEqual({});
    expect(await samples(m, 'beastmode_autoscaling_forecast')).toEqual({});
    expect(await samples(m, 'beastmode_autoscaling_fallback')).toEqual({});

    m.autoscaling.report(policyReport({ policy: 'other' }));
    m.autoscaling.forget('llm', 'gw');
    expect(Object.keys(await samples(m, 'beastmode_autoscaling_replicas'))).toHaveLength(4);
    for (const metric of m.registry
      .getMetricsAsArray()
      .filter((x) => x.name.startsWith('beastmode_autoscaling_')))
      for (const key of Object.keys(await samples(m, metric.name))) expect(key).toContain('policy=other');
  });
});
