// A ModelGateway's readiness from its Deployment: all desired pods up to date and available when the
// operator owns the replica count; under an HPA, serving from up-to-date pods while the count moves.
import type { ModelGateway } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { REPLICAS_OWNER_ANNOTATION } from './gateway.js';
import { renderGatewayStatus } from './gateway-status.js';

const gateway = {
  apiVersion: 'beastmode.dev/v1alpha1',
  kind: 'ModelGateway',
  metadata: { name: 'main', namespace: 'llm', generation: 1 },
  spec: {},
} as unknown as ModelGateway;

function deployment(
  owner: 'operator' | 'autoscaler',
  replicas: number,
  st: { replicas: number; updated: number; available: number; availableCond?: 'True' | 'False' },
): KubeObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'main-gateway', generation: 3, annotations: { [REPLICAS_OWNER_ANNOTATION]: owner } },
    spec: { replicas },
    status: {
      observedGeneration: 3,
      replicas: st.replicas,
      updatedReplicas: st.updated,
      readyReplicas: st.available,
      availableReplicas: st.available,
      conditions: [{ type: 'Available', status: st.availableCond ?? 'True' }],
    },
  };
}

const ready = (d: KubeObject, wasReady = false) => {
  const status = renderGatewayStatus({
    gateway: wasReady
      ? ({
          ...gateway,
          status: { conditions: [{ type: 'Ready', status: 'True', reason: 'Succeeded', message: '' }] },
        } as ModelGateway)
      : gateway,
    deployment: d,
    configRevision: 'r1',
    configApplied: true,
    attachedRoutes: 1,
    now: new Date('2026-01-01T00:00:00Z'),
  });
  const c = status.conditions?.find((x) => x.type === 'Ready');
  return { status: c?.status, message: c?.message };
};

describe('gateway readiness', () => {
  test('the operator’s replica count: every desired pod available', () => {
    expect(ready(deployment('operator', 2, { replicas: 2, updated: 2, available: 1 }))).toEqual({
      status: 'False',
      message: '1 of 2 pods available',
    });
    expect(ready(deployment('operator', 2, { replicas: 2, updated: 2, available: 2 })).status).toBe('True');
  });

  test('under an HPA a scale-up keeps the gateway ready; a rollout or no pod at all does not', () => {
    const scaling = ready(
      deployment('autoscaler', 4, { replicas: 4, updated: 4, available: 1, availableCond: 'False' }),
    );
    expect(scaling.status).toBe('True');
    expect(scaling.message).toContain('1 of 4 pods available, scaling');
    expect(ready(deployment('autoscaler', 4, { replicas: 5, updated: 2, available: 4 }))).toEqual({
      status: 'False',
      message: '3 old pods being replaced',
    });
    expect(ready(deployment('autoscaler', 2, { replicas: 2, updated: 2, available: 0 })).status).toBe(
      'False',
    );
  });

  test('the moment before the Deployment controller observes an HPA’s new count does not flip Ready', () => {
    const unobserved = (owner: 'operator' | 'autoscaler') => {
      const d = deployment(owner, 4, { replicas: 1, updated: 1, available: 1 });
      return { ...d, metadata: { ...d.metadata, generation: 4 } };
    };
    expect(ready(unobserved('autoscaler'), true)).toEqual({
      status: 'True',
      message: '1 of 4 pods available, scaling, serving 1 routes at config r1',
    });
    // Not ready before, or a replica count the operator owns: not ready until observed.
    expect(ready(unobserved('autoscaler'), false).message).toBe('Deployment change not observed yet');
    expect(ready(unobserved('operator'), true).message).toBe('Deployment change not observed yet');
  });
});
