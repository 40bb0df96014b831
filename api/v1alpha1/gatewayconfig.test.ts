import { parse } from 'yaml';
import {
  Canary,
  GatewayConfig,
  ModelRoute,
  canaryOverlayFor,
  compileRoute,
  finishGatewayConfig,
} from './index.js';

const route = ModelRoute.parse(
  parse(`
apiVersion: beastmode.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat, namespace: llm }
spec:
  gatewayRef: { name: default }
  model: chat
  backends:
    - name: llama
      service: { name: vllm, port: 8000 }
      model: llama-3.1
    - name: hosted
      provider: openai
      url: https://api.openai.com/v1/
      credentialsSecretRef: { name: openai, key: apiKey }
  timeouts: { firstToken: 1.5s }
`),
);

const canary = (status: unknown) =>
  Canary.parse({
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'Canary',
    metadata: { name: 'c', namespace: 'llm' },
    spec: {
      routeRef: { name: 'chat' },
      backend: 'llama',
      analysis: { metrics: [{ name: 'error-rate', max: 0.1 }] },
    },
    status,
  });

describe('compileRoute', () => {
  it('resolves services, defaults and durations', () => {
    const r = compileRoute(route);
    expect(r.backends[0]).toMatchObject({
      name: 'llama',
      variant: 'stable',
      url: 'http://vllm.llm.svc.cluster.local:8000/v1',
      model: 'llama-3.1',
    });
    expect(r.backends[1]).toMatchObject({
      url: 'https://api.openai.com/v1',
      model: 'chat',
      credentials: { namespace: 'llm', name: 'openai', key: 'apiKey' },
    });
    expect(r.timeouts).toEqual({ firstTokenMs: 1500, totalMs: 300_000 });
    expect(r.fallback.maxAttempts).toBe(3);
    expect(r.canary).toBeUndefined();
  });

  it('serves the recorded stable spec and adds the candidate at the canary weight', () => {
    const stable = { name: 'llama', url: 'http://old.example/v1' };
    const candidate = { name: 'llama', url: 'http://new.example/v1' };
    const overlay = canaryOverlayFor(
      canary({
        stableBackend: stable,
        candidateBackend: candidate,
        canaryWeight: 5,
        candidateRevision: 'r2',
      }),
    );
    const r = compileRoute(route, overlay);
    const llama = r.backends.filter((b) => b.name === 'llama');
    expect(llama.map((b) => [b.variant, b.url])).toEqual([
      ['stable', 'http://old.example/v1'],
      ['canary', 'http://new.example/v1'],
    ]);
    expect(r.canary).toEqual({ backend: 'llama', weight: 5, revision: 'r2' });
  });

  it('serves stable alone at weight 0, whatever the route spec says', () => {
    const overlay = canaryOverlayFor(
      canary({
        stableBackend: { name: 'llama', url: 'http://old.example/v1' },
        candidateBackend: { name: 'llama', url: 'http://bad.example/v1' },
        canaryWeight: 0,
      }),
    );
    const r = compileRoute(route, overlay);
    expect(r.backends.filter((b) => b.name === 'llama').map((b) => b.url)).toEqual(['http://old.example/v1']);
    expect(r.canary).toBeUndefined();
  });

  it('ignores a canary that has recorded nothing yet', () => {
    expect(canaryOverlayFor(canary(undefined))).toBeUndefined();
  });

  it('compiles cache.keepAcrossRevisions only when true, so other routes compile as before', () => {
    expect(compileRoute(route).cache).toEqual({
      mode: 'off',
      ttlMs: 300_000,
      scope: 'api-key',
      cacheNonDeterministic: false,
    });
    const keep = { ...route, spec: { ...route.spec, cache: { mode: 'exact', keepAcrossRevisions: true } } };
    expect(compileRoute(ModelRoute.parse(keep)).cache).toMatchObject({
      mode: 'exact',
      keepAcrossRevisions: true,
    });
  });
});

describe('GatewayConfig', () => {
  const draft = {
    gateway: { namespace: 'llm', name: 'default' },
    cache: { maxEntries: 10, maxEntryBytes: 1024 },
    limits: {
      maxRequestBytes: 1024,
      maxConcurrentRequests: 10,
      requestTimeoutSeconds: 10,
      headersTimeoutSeconds: 10,
    },
    logLevel: 'info' as const,
    routes: [compileRoute(route)],
  };

  it('is deterministic and validates', () => {
    const a = finishGatewayConfig(draft);
    expect(finishGatewayConfig(draft)).toEqual(a);
    expect(GatewayConfig.safeParse(a).success).toBe(true);
    expect(a.revision).toMatch(/^[0-9a-f]{16}$/);
  });

  it('refuses two routes for one model', () => {
    const bad = finishGatewayConfig({ ...draft, routes: [compileRoute(route), compileRoute(route)] });
    expect(GatewayConfig.safeParse(bad).error?.message).toContain('two routes serve model chat');
  });
});
