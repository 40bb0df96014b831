// The route controller's side of credentials: a route that takes credentials is not judged before its
// gateway's instances were first asked (a status written then would flap after a start or a handover);
// once they report a credential they cannot read, the route is Accepted but Ready=False
// CredentialsUnavailable with a Warning event, and Ready again when the report clears.
import { describe, expect, it } from '@jest/globals';
import type { ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';
import { silentLogger } from '../observability/logger.js';
import { CompiledRouteMemo } from '../render/route-compile.js';
import type { ControllerContext } from '../runtime/framework.js';
import { CredentialReports } from './credentials.js';
import { createModelRouteController } from './modelroute.js';

const gateway = { metadata: { name: 'main', namespace: 'llm' }, spec: {} } as ModelGateway;

function harness(backends?: unknown[]) {
  let route = {
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'ModelRoute',
    metadata: { name: 'chat', namespace: 'llm', generation: 1, resourceVersion: '1' },
    spec: {
      gatewayRef: { name: 'main' },
      model: 'chat',
      backends: backends ?? [
        {
          name: 'a',
          url: 'https://a.example.com/v1',
          credentialsSecretRef: { name: 'openai', key: 'apiKey' },
        },
      ],
    },
  } as unknown as ModelRoute;
  const events: string[] = [];
  const ctx = {
    cache: {
      get: (kind: string) => (kind === 'ModelRoute' ? route : kind === 'ModelGateway' ? gateway : undefined),
      list: () => [],
      byIndex: (kind: string) => (kind === 'ModelRoute' ? [route] : []),
    },
    patchStatus: (_k: string, live: KubeObject, status: Record<string, unknown>) => {
      if (JSON.stringify(live.status ?? {}) === JSON.stringify(status)) return Promise.resolve(false);
      route = { ...route, status };
      return Promise.resolve(true);
    },
    events: { emit: (_o: KubeObject, type: string, reason: string) => events.push(`${type} ${reason}`) },
    log: silentLogger(),
    now: () => Date.parse('2025-01-01T00:00:00Z'),
  } as unknown as ControllerContext;
  const credentials = new CredentialReports();
  const def = createModelRouteController({ compiled: new CompiledRouteMemo(), credentials });
  const ready = () => route.status?.conditions?.find((c) => c.type === 'Ready');
  const accepted = () => route.status?.conditions?.find((c) => c.type === 'Accepted');
  const spilling = () => route.status?.conditions?.find((c) => c.type === 'SpillingOver');
  return { reconcile: () => def.reconcile('llm/chat', ctx), credentials, events, ready, accepted, spilling };
}

describe('route controller and credentials', () => {
  it('waits for the first probe of its gateway, then reports an unreadable credential and its recovery', async () => {
    const h = harness();
    const outcome = await h.reconcile();
    expect(outcome).toMatchObject({ requeueAfterMs: expect.any(Number) });
    expect(h.ready()).toBeUndefined();

    h.credentials.record('llm/main', {
      instances: 2,
      routes: new Map([
        [
          'chat',
          {
            instances: 2,
            unavailable: [{ backend: 'a', variant: 'stable', secret: 'openai', key: 'apiKey', instances: 2 }],
          },
        ],
      ]),
    });
    await h.reconcile();
    expect(h.ready()).toMatchObject({ status: 'False', reason: 'CredentialsUnavailable' });
    expect(h.ready()?.message).toContain('Secret llm/openai key apiKey (backend a, 2 of 2 instances)');
    expect(h.accepted()).toMatchObject({ status: 'True' });
    expect(h.events).toEqual(['Warning CredentialsUnavailable']);

    h.credentials.record('llm/main', { instances: 2, routes: new Map() });
    await h.reconcile();
    expect(h.ready()).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(h.events).toEqual(['Warning CredentialsUnavailable', 'Normal Accepted']);
  });

  it('ignores a report naming a credential the route no longer takes', async () => {
    const h = harness();
    h.credentials.record('llm/main', {
      instances: 1,
      routes: new Map([
        [
          'chat',
          {
            instances: 1,
            unavailable: [
              { backend: 'a', variant: 'stable', secret: 'old-secret', key: 'apiKey', instances: 1 },
            ],
          },
        ],
      ]),
    });
    await h.reconcile();
    expect(h.ready()).toMatchObject({ status: 'True' });
  });
});

describe('route controller and spill-over', () => {
  const backends = [
    { name: 'pool', url: 'http://pool.llm.svc/v1', spillOver: { to: 'hosted' } },
    { name: 'hosted', url: 'https://api.example.com/v1', weight: 0 },
  ];
  const report = (
    spilling: Map<string, { backend: string; variant: string; to: string; instances: number }[]>,
  ) => ({
    instances: 3,
    routes: new Map(),
    spilling,
  });

  it('says when and where a saturated backend spills over, with an event at each change, Ready throughout', async () => {
    const h = harness(backends);
    await h.reconcile();
    // Not asked yet: no SpillingOver condition is invented.
    expect(h.spilling()).toBeUndefined();
    h.credentials.record('llm/main', report(new Map()));
    await h.reconcile();
    expect(h.spilling()).toMatchObject({ status: 'False', reason: 'WithinCapacity' });
    expect(h.events).toEqual([]);

    h.credentials.record(
      'llm/main',
      report(new Map([['chat', [{ backend: 'pool', variant: 'stable', to: 'hosted', instances: 2 }]]])),
    );
    await h.reconcile();
    expect(h.spilling()).toMatchObject({ status: 'True', reason: 'BackendSaturated' });
    expect(h.spilling()?.message).toContain('backend pool to hosted on 2 of 3 instances');
    expect(h.ready()).toMatchObject({ status: 'True' });
    expect(h.events).toEqual(['Warning SpillOverStarted']);

    h.credentials.record('llm/main', report(new Map()));
    await h.reconcile();
    expect(h.spilling()).toMatchObject({ status: 'False', reason: 'WithinCapacity' });
    expect(h.events).toEqual(['Warning SpillOverStarted', 'Normal SpillOverEnded']);
  });

  it('a route without spillOver has no SpillingOver condition', async () => {
    const h = harness([{ name: 'a', url: 'https://a.example.com/v1' }]);
    h.credentials.record('llm/main', report(new Map()));
    await h.reconcile();
    expect(h.ready()).toMatchObject({ status: 'True' });
    expect(h.spilling()).toBeUndefined();
  });
});
