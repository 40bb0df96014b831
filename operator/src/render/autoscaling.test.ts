import { API_VERSION, type AutoscalingPolicy } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { translateAutoscalingPolicy } from './autoscaling.js';

const NOW = new Date('2025-01-01T00:00:00Z');

const policy: AutoscalingPolicy = {
  apiVersion: API_VERSION,
  kind: 'AutoscalingPolicy',
  metadata: { name: 'vllm', namespace: 'models', uid: 'a1', generation: 2 },
  spec: {
    targetRef: { kind: 'Deployment', name: 'vllm' },
    minReplicas: 1,
    maxReplicas: 4,
    metrics: [{ type: 'cpu', targetAverageUtilization: 70 }],
  },
};

const hpa = (conditions: { type: string; status: string; reason?: string }[]): KubeObject => ({
  metadata: { name: 'vllm-autoscaler', namespace: 'models' },
  status: { currentReplicas: 2, desiredReplicas: 3, conditions },
});

describe('translateAutoscalingPolicy', () => {
  test('renders no HPA while the target is missing, and stalls naming the target', () => {
    const out = translateAutoscalingPolicy({ policy, targetExists: false, hpa: undefined }, NOW);
    expect(out.hpa).toBeUndefined();
    expect(out.status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'TargetNotFound'],
      ['Stalled', 'True', 'TargetNotFound'],
    ]);
    expect(out.status.conditions?.[0]?.message).toBe('Deployment models/vllm not found');
  });

  test('reconciles until the HPA is observed, then is ready with its replica counts', () => {
    const pending = translateAutoscalingPolicy({ policy, targetExists: true, hpa: undefined }, NOW);
    expect(pending.hpa?.spec).toMatchObject({ scaleTargetRef: { kind: 'Deployment', name: 'vllm' } });
    expect(pending.status.conditions?.map((c) => c.type)).toEqual(['Ready', 'Reconciling']);
    const live = hpa([
      { type: 'AbleToScale', status: 'True' },
      { type: 'ScalingActive', status: 'True', reason: 'ValidMetricFound' },
    ]);
    const ready = translateAutoscalingPolicy({ policy, targetExists: true, hpa: live }, NOW);
    expect(ready.status).toMatchObject({ currentReplicas: 2, desiredReplicas: 3, observedGeneration: 2 });
    expect(ready.status.conditions?.map((c) => [c.type, c.status, c.message])).toEqual([
      ['Ready', 'True', '2 replicas, desired 3'],
    ]);
  });

  test('is not ready while its HPA reads no metric, and says why', () => {
    const live = hpa([
      { type: 'AbleToScale', status: 'True', reason: 'SucceededGetScale' },
      { type: 'ScalingActive', status: 'False', reason: 'FailedGetExternalMetric' },
    ]);
    const out = translateAutoscalingPolicy({ policy, targetExists: true, hpa: live }, NOW);
    expect(out.status.conditions?.map((c) => [c.type, c.status, c.reason])).toEqual([
      ['Ready', 'False', 'MetricsUnavailable'],
    ]);
    expect(out.status.conditions?.[0]?.message).toContain('FailedGetExternalMetric');
  });

  test('renders the LLM signals as external metrics selected by the policy, with the forecast beside the rate', () => {
    const llm: AutoscalingPolicy = {
      ...policy,
      spec: {
        targetRef: { kind: 'Deployment', name: 'vllm' },
        backend: { route: 'chat', name: 'local' },
        minReplicas: 1,
        maxReplicas: 8,
        metrics: [
          { type: 'inflight-requests', targetAverage: 16 },
          { type: 'requests-per-second', targetAverage: 2.5 },
          { type: 'ttft-p95', targetValue: 0.8 },
        ],
        predictive: { horizon: '10m', seasonality: '24h' },
      },
    };
    const metrics = (
      translateAutoscalingPolicy({ policy: llm, targetExists: true, hpa: undefined }, NOW).hpa?.spec as {
        metrics: unknown[];
      }
    ).metrics;
    const selector = { matchLabels: { policy: 'vllm' } };
    expect(metrics).toEqual([
      {
        type: 'External',
        external: {
          metric: { name: 'beastmode_inflight_requests', selector },
          target: { type: 'AverageValue', averageValue: '16' },
        },
      },
      {
        type: 'External',
        external: {
          metric: { name: 'beastmode_requests_per_second', selector },
          target: { type: 'AverageValue', averageValue: '2500m' },
        },
      },
      {
        type: 'External',
        external: {
          metric: { name: 'beastmode_ttft_p95_seconds', selector },
          target: { type: 'Value', value: '800m' },
        },
      },
      {
        type: 'External',
        external: {
          metric: { name: 'beastmode_forecast_requests_per_second', selector },
          target: { type: 'AverageValue', averageValue: '2500m' },
        },
      },
    ]);
  });

  test('reports the metrics the HPA saw, the forecast, and a fallback in force', () => {
    const withFallback: AutoscalingPolicy = {
      ...policy,
      spec: { ...policy.spec, fallback: { failureThreshold: 3, replicas: 3 } },
    };
    const live: KubeObject = {
      ...hpa([
        { type: 'AbleToScale', status: 'True' },
        { type: 'ScalingActive', status: 'True' },
      ]),
    };
    (live.status as Record<string, unknown>).currentMetrics = [
      { type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 41 } } },
      {
        type: 'External',
        external: { metric: { name: 'beastmode_inflight_requests' }, current: { averageValue: '12' } },
      },
    ];
    const out = translateAutoscalingPolicy({ policy: withFallback, targetExists: true, hpa: live }, NOW, {
      fallback: true,
      forecast: { requestsPerSecond: 123.45, accuracy: 0.961 },
    });
    expect(out.status.currentMetrics).toEqual([
      { type: 'cpu', value: '41%' },
      { type: 'inflight-requests', value: '12' },
    ]);
    expect(out.status.forecast).toEqual({ requestsPerSecond: '123.5', accuracy: '96.1%' });
    expect(out.status.conditions?.find((c) => c.type === 'Fallback')).toMatchObject({
      status: 'True',
      reason: 'FallbackActive',
    });
  });

  test('stalls with the HPA reason when it cannot scale', () => {
    const live = hpa([{ type: 'AbleToScale', status: 'False', reason: 'FailedGetScale' }]);
    const out = translateAutoscalingPolicy({ policy, targetExists: true, hpa: live }, NOW);
    expect(out.status.conditions?.map((c) => [c.type, c.reason])).toEqual([
      ['Ready', 'FailedGetScale'],
      ['Stalled', 'FailedGetScale'],
    ]);
  });
});
