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
    const live = hpa([{ type: 'AbleToScale', status: 'True' }]);
    const ready = translateAutoscalingPolicy({ policy, targetExists: true, hpa: live }, NOW);
    expect(ready.status).toMatchObject({ currentReplicas: 2, desiredReplicas: 3, observedGeneration: 2 });
    expect(ready.status.conditions?.map((c) => [c.type, c.status, c.message])).toEqual([
      ['Ready', 'True', '2 replicas, desired 3'],
    ]);
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
