// Reading the gateway's beastmode_backend_credentials_ready: one scrape's unreadable credentials of a
// namespace, several instances added up per route and credential, and a probe that knows nothing when no
// instance answers.
import { describe, expect, it } from '@jest/globals';
import { METRICS } from '../../../../api/v1alpha1/index.js';
import {
  CredentialProbe,
  mergeScrapes,
  mergeSpills,
  spillingBackends,
  unreadableCredentials,
} from './credentials.js';
import { StaticGatewayEndpoints } from './endpoints.js';

const line = (route: string, backend: string, secret: string, value: 0 | 1, ns = 'llm') =>
  `${METRICS.credentialsReady}{namespace="${ns}",route="${route}",backend="${backend}",variant="stable",secret="${secret}",key="apiKey"} ${value}`;

const scrape = (...lines: string[]): string =>
  [`# HELP ${METRICS.credentialsReady} x`, `# TYPE ${METRICS.credentialsReady} gauge`, ...lines, ''].join(
    '\n',
  );

describe('unreadableCredentials', () => {
  it('keeps the 0 series of the namespace, by route', () => {
    const text = scrape(
      line('chat', 'a', 'openai', 0),
      line('chat', 'b', 'anthropic', 1),
      line('embed', 'e', 'openai', 0, 'other'),
      'beastmode_requests_total{namespace="llm",route="chat"} 3',
    );
    expect([...unreadableCredentials(text, 'llm')]).toEqual([
      ['chat', [{ backend: 'a', variant: 'stable', secret: 'openai', key: 'apiKey' }]],
    ]);
  });
});

describe('mergeScrapes', () => {
  it('counts, per route and credential, the instances that cannot read it', () => {
    const a = unreadableCredentials(scrape(line('chat', 'a', 'openai', 0)), 'llm');
    const b = unreadableCredentials(scrape(line('chat', 'a', 'openai', 1)), 'llm');
    const c = unreadableCredentials(scrape(line('chat', 'a', 'openai', 0)), 'llm');
    const merged = mergeScrapes([a, b, c]);
    expect(merged.instances).toBe(3);
    expect(merged.routes.get('chat')).toEqual({
      instances: 3,
      unavailable: [{ backend: 'a', variant: 'stable', secret: 'openai', key: 'apiKey', instances: 2 }],
    });
    expect(mergeScrapes([b]).routes.size).toBe(0);
  });
});

describe('CredentialProbe', () => {
  const endpoints = new StaticGatewayEndpoints(new Map([['main', ['http://a/metrics', 'http://b/metrics']]]));

  it('asks every instance; one that does not answer is not counted', async () => {
    const probe = new CredentialProbe({
      endpoints,
      scrape: (url) =>
        url.startsWith('http://a')
          ? Promise.resolve(scrape(line('chat', 'a', 'openai', 0)))
          : Promise.reject(new Error('connect ECONNREFUSED')),
    });
    const answer = await probe.probe({ namespace: 'llm', name: 'main' });
    expect(answer?.instances).toBe(1);
    expect(answer?.routes.get('chat')?.unavailable[0]).toMatchObject({ secret: 'openai', instances: 1 });
  });

  it('knows nothing when no instance answers', async () => {
    const probe = new CredentialProbe({ endpoints, scrape: () => Promise.reject(new Error('down')) });
    expect(await probe.probe({ namespace: 'llm', name: 'main' })).toBeUndefined();
    const none = new CredentialProbe({ endpoints: new StaticGatewayEndpoints(new Map()) });
    expect(await none.probe({ namespace: 'llm', name: 'main' })).toBeUndefined();
  });
});

describe('spilling backends', () => {
  const spill = (backend: string, value: 0 | 1, ns = 'llm') =>
    `${METRICS.spillOverActive}{namespace="${ns}",route="chat",backend="${backend}",variant="stable",to="hosted"} ${value}`;

  it('reads the active series of the namespace and counts the instances that spill', async () => {
    const a = scrape(spill('pool', 1), spill('other', 0), spill('pool', 1, 'elsewhere'));
    const b = scrape(spill('pool', 0));
    const c = scrape(spill('pool', 1));
    expect([...spillingBackends(a, 'llm')]).toEqual([
      ['chat', [{ backend: 'pool', variant: 'stable', to: 'hosted' }]],
    ]);
    const merged = mergeSpills([a, b, c].map((t) => spillingBackends(t, 'llm')));
    expect(merged.get('chat')).toEqual([{ backend: 'pool', variant: 'stable', to: 'hosted', instances: 2 }]);

    const endpoints = new StaticGatewayEndpoints(
      new Map([['main', ['http://a/metrics', 'http://b/metrics']]]),
    );
    const probe = new CredentialProbe({
      endpoints,
      scrape: (url) => Promise.resolve(url.startsWith('http://a') ? a : b),
    });
    const answer = await probe.probe({ namespace: 'llm', name: 'main' });
    expect(answer?.spilling?.get('chat')).toEqual([
      { backend: 'pool', variant: 'stable', to: 'hosted', instances: 1 },
    ]);
    const calm = new CredentialProbe({ endpoints, scrape: () => Promise.resolve(b) });
    expect((await calm.probe({ namespace: 'llm', name: 'main' }))?.spilling).toBeUndefined();
  });
});

describe('router reports', () => {
  const info = (route: string, kind: string, version: string, ns = 'llm') =>
    `${METRICS.routerModelInfo}{namespace="${ns}",route="${route}",kind="${kind}",version="${version}"} 1`;
  const share = (route: string, v: number) =>
    `${METRICS.routerLearnedWeakShare}{namespace="llm",route="${route}"} ${v}`;

  it("reads the instances' router models and averages their learned weak share into the probe's answer", async () => {
    const a = scrape(
      info('smart', 'quality-cost', 'v1'),
      info('smart', 'domains', 'v1'),
      share('smart', 0.4),
    );
    // Mid-swap: one instance already on the ConfigMap's new model.
    const b = scrape(
      info('smart', 'quality-cost', 'team-2'),
      info('smart', 'domains', 'v1'),
      share('smart', 0.5),
    );
    const c = scrape(info('other', 'quality-cost', 'v1', 'elsewhere'));
    const endpoints = new StaticGatewayEndpoints(
      new Map([['main', ['http://a/metrics', 'http://b/metrics', 'http://c/metrics']]]),
    );
    const texts: Record<string, string> = {
      'http://a/metrics': a,
      'http://b/metrics': b,
      'http://c/metrics': c,
    };
    const probe = new CredentialProbe({ endpoints, scrape: (url) => Promise.resolve(texts[url] ?? '') });
    const answer = await probe.probe({ namespace: 'llm', name: 'main' });
    expect([...(answer?.router?.entries() ?? [])]).toEqual([
      [
        'smart',
        {
          models: ['domains v1', 'quality-cost team-2', 'quality-cost v1'],
          learnedWeakShare: '0.45',
          instances: 2,
        },
      ],
    ]);
  });
});
