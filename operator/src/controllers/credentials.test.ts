// The credentials controller and the reports it shares with the route controller: a probe's answer is
// kept per gateway, only routes whose answer changed are judged again, a gateway with routes is asked
// again every period, and a gateway that went away drops its answers.
import { describe, expect, it } from '@jest/globals';
import type { ModelGateway, ModelRoute } from '../../../api/v1alpha1/index.js';
import { silentLogger } from '../observability/logger.js';
import { CredentialProbe, type GatewayCredentials } from '../rollout/providers/credentials.js';
import { StaticGatewayEndpoints } from '../rollout/providers/endpoints.js';
import type { ControllerContext } from '../runtime/framework.js';
import { CREDENTIALS_PROBE_MS, CredentialReports, createCredentialsController } from './credentials.js';

const missing = (route: string, secret: string, instances = 1): GatewayCredentials => ({
  instances: 2,
  routes: new Map([
    [
      route,
      { instances: 2, unavailable: [{ backend: 'a', variant: 'stable', secret, key: 'k', instances }] },
    ],
  ]),
});

describe('CredentialReports', () => {
  it('knows nothing before a probe, then answers per route; a change names only the routes it touches', () => {
    const r = new CredentialReports();
    expect(r.probed('llm/main')).toBe(false);
    expect(r.forRoute('llm/main', 'chat')).toBeUndefined();
    expect(r.record('llm/main', missing('chat', 'openai'))).toEqual(['chat']);
    expect(r.probed('llm/main')).toBe(true);
    expect(r.forRoute('llm/main', 'embed')).toEqual({ instances: 2, unavailable: [] });
    expect(r.record('llm/main', missing('chat', 'openai'))).toEqual([]);
    expect(r.record('llm/main', missing('chat', 'openai', 2))).toEqual(['chat']);
    expect(r.record('llm/main', undefined)).toEqual(['chat']);
    expect(r.probed('llm/main')).toBe(true);
    expect(r.forRoute('llm/main', 'chat')).toBeUndefined();
    r.record('llm/main', missing('embed', 'x'));
    expect(r.forget('llm/main')).toEqual(['embed']);
    expect(r.probed('llm/main')).toBe(false);
  });
});

describe('credentials controller', () => {
  function harness(answer: GatewayCredentials | undefined) {
    let gateway: ModelGateway | undefined = {
      metadata: { name: 'main', namespace: 'llm' },
      spec: {},
    } as ModelGateway;
    let routes: ModelRoute[] = [{ metadata: { name: 'chat', namespace: 'llm' } } as ModelRoute];
    const enqueued: string[] = [];
    const ctx = {
      cache: {
        get: () => gateway,
        list: () => [],
        byIndex: () => routes,
      },
      enqueue: (controller: string, key: string) => enqueued.push(`${controller}:${key}`),
      log: silentLogger(),
      client: {},
    } as unknown as ControllerContext;
    const reports = new CredentialReports();
    const probe = new CredentialProbe({ endpoints: new StaticGatewayEndpoints(new Map()) });
    probe.probe = () => Promise.resolve(answer);
    const def = createCredentialsController({
      instances: { endpoints: new StaticGatewayEndpoints(new Map()), bind: () => undefined },
      reports,
      probe,
    });
    return {
      reconcile: () => def.reconcile('llm/main', ctx),
      reports,
      enqueued,
      setGateway: (g: ModelGateway | undefined) => (gateway = g),
      setRoutes: (r: ModelRoute[]) => (routes = r),
    };
  }

  it('records the answer, has the changed routes judged again and asks again after a period', async () => {
    const h = harness(missing('chat', 'openai'));
    expect(await h.reconcile()).toEqual({ requeueAfterMs: CREDENTIALS_PROBE_MS });
    expect(h.enqueued).toEqual(['modelroute:llm/chat']);
    expect(h.reports.forRoute('llm/main', 'chat')?.unavailable).toHaveLength(1);
    await h.reconcile();
    expect(h.enqueued).toEqual(['modelroute:llm/chat']);
  });

  it('asks nothing of a gateway without routes, and forgets a deleted one', async () => {
    const h = harness(missing('chat', 'openai'));
    await h.reconcile();
    h.setRoutes([]);
    expect(await h.reconcile()).toBeUndefined();
    expect(h.reports.probed('llm/main')).toBe(true);
    expect(h.reports.forRoute('llm/main', 'chat')).toEqual({ instances: 0, unavailable: [] });
    h.setGateway(undefined);
    await h.reconcile();
    expect(h.reports.probed('llm/main')).toBe(false);
  });
});
