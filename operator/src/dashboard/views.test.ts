import type { Canary, ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import { canaryView, gatewayView, healthOf, routeView } from './views.js';

const meta = { name: 'chat', namespace: 'llm', generation: 2 };
const ready = (status: 'True' | 'False', reason = 'Reconciled') => ({
  type: 'Ready',
  status,
  reason,
  message: 'm',
  lastTransitionTime: '2026-01-01T00:00:00Z',
});

describe('views', () => {
  test('never carry Secret references, cohort headers or API keys', () => {
    const route = {
      apiVersion: 'beastmode.dev/v1alpha1',
      kind: 'ModelRoute',
      metadata: meta,
      spec: {
        gatewayRef: { name: 'main' },
        model: 'chat',
        backends: [
          {
            name: 'premium',
            provider: 'openai',
            url: 'https://api.example.com/v1',
            model: 'gpt',
            credentialsSecretRef: { name: 'openai-secret-name', key: 'apiKey' },
            weight: 100,
          },
        ],
      },
    } as unknown as ModelRoute;
    const canary = {
      apiVersion: 'beastmode.dev/v1alpha1',
      kind: 'Canary',
      metadata: meta,
      spec: {
        routeRef: { name: 'chat' },
        backend: 'premium',
        steps: [10, 100],
        interval: '30s',
        analysis: { metrics: [{ name: 'error-rate', max: 0.05 }] },
        match: [{ headers: { 'x-secret-header': 'cohort-value' }, apiKeys: ['key-id-1'] }],
        candidate: { name: 'premium', credentialsSecretRef: { name: 'candidate-secret', key: 'k' } },
      },
      status: { phase: 'Progressing', canaryWeight: 10 },
    } as unknown as Canary;
    const text = JSON.stringify([routeView(route), canaryView(canary)]);
    for (const secret of [
      'openai-secret-name',
      'apiKey',
      'x-secret-header',
      'cohort-value',
      'key-id-1',
      'candidate-secret',
    ])
      expect(text).not.toContain(secret);
    expect(text).toContain('premium');
  });

  test('health follows the conditions', () => {
    expect(healthOf({ generation: 2 }, { observedGeneration: 2, conditions: [ready('True')] }).health).toBe(
      'healthy',
    );
    expect(healthOf({ generation: 3 }, { observedGeneration: 2, conditions: [ready('True')] }).health).toBe(
      'progressing',
    );
    expect(healthOf({}, { conditions: [ready('False', 'GatewayNotFound')] })).toEqual({
      health: 'degraded',
      summary: 'GatewayNotFound: m',
    });
    expect(healthOf({}, { conditions: [ready('False', 'AwaitingPromotion')] }).health).toBe('progressing');
    expect(healthOf({}, undefined).health).toBe('unknown');
    const stalled = { ...ready('True'), type: 'Stalled', reason: 'InvalidSpec' };
    expect(healthOf({}, { conditions: [ready('True'), stalled] }).health).toBe('degraded');
  });

  test('a gateway view has its replicas and routes', () => {
    const g = {
      metadata: meta,
      spec: {},
      status: { replicas: 2, readyReplicas: 1, attachedRoutes: 3, selector: 'a=b' },
    } as unknown as ModelGateway;
    expect(gatewayView(g)).toMatchObject({
      key: 'gateway/llm/chat',
      replicas: 2,
      readyReplicas: 1,
      attachedRoutes: 3,
    });
  });
});
