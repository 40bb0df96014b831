import { parse } from 'yaml';
import { allCrds } from '../gen/crd.js';
import { GatewayConfig, ModelRoute, compileRoute, finishGatewayConfig, type CanaryOverlay } from './index.js';
import { backendClassOf, classOfUrl, PII_DETECTORS } from './compliance.js';

const route = (compliance: string, backends?: string) =>
  ModelRoute.safeParse(
    parse(`
apiVersion: beastmode.dev/v1alpha1
kind: ModelRoute
metadata: { name: chat, namespace: llm }
spec:
  gatewayRef: { name: default }
  model: chat
  backends:
${
  backends ??
  `    - { name: llama, service: { name: vllm, port: 8000 }, region: eu-west-1 }
    - { name: hosted, provider: openai, url: 'https://api.openai.com/v1', region: eu-west-1 }`
}
${compliance}
`),
  );

const messages = (r: ReturnType<typeof route>) => (r.success ? [] : r.error.issues.map((i) => i.message));

describe('ModelRoute.spec.compliance', () => {
  test('a route without compliance compiles exactly as before: no compliance, no backend class', () => {
    const r = route('');
    expect(r.success).toBe(true);
    const compiled = compileRoute(r.data as ModelRoute);
    expect(compiled.compliance).toBeUndefined();
    expect(compiled.backends.map((b) => b.class)).toEqual([undefined, undefined]);
    // Region is carried when written (a runtime check needs it); nothing else is added.
    expect(Object.keys(compiled.backends[1] ?? {})).not.toContain('class');
  });

  test('defaults fill in: all detectors, hosted redact, in-cluster allow, restore, no PII in the cache', () => {
    const r = route('  compliance: { pii: {} }');
    expect(messages(r)).toEqual([]);
    const c = compileRoute(r.data as ModelRoute);
    expect(c.compliance).toEqual({
      pii: {
        detectors: [...PII_DETECTORS],
        hosted: 'redact',
        inCluster: 'allow',
        restore: true,
      },
      retention: { storePromptsWithPII: false },
    });
    expect(c.backends.map((b) => [b.name, b.class])).toEqual([
      ['llama', 'in-cluster'],
      ['hosted', 'hosted'],
    ]);
    // The compiled form passes the gateway's own validation.
    const config = finishGatewayConfig({
      gateway: { namespace: 'llm', name: 'default' },
      cache: { maxEntries: 1, maxEntryBytes: 1 },
      limits: {
        maxRequestBytes: 1,
        maxConcurrentRequests: 1,
        requestTimeoutSeconds: 1,
        headersTimeoutSeconds: 1,
      },
      logLevel: 'info',
      routes: [c],
    });
    expect(GatewayConfig.safeParse(config).success).toBe(true);
  });

  test('detectors, actions, lists and retention compile to plain values', () => {
    const r = route(`  compliance:
    pii: { detectors: [email, iban], action: { hosted: block, inCluster: redact }, restore: false }
    allowedProviders: [openai, openai-compatible]
    allowedRegions: [eu-west-1]
    retention: { cache: { storePromptsWithPII: true, maxTtl: 90s }, feedback: { window: 24h } }`);
    expect(messages(r)).toEqual([]);
    expect(compileRoute(r.data as ModelRoute).compliance).toEqual({
      pii: { detectors: ['email', 'iban'], hosted: 'block', inCluster: 'redact', restore: false },
      allowedProviders: ['openai', 'openai-compatible'],
      allowedRegions: ['eu-west-1'],
      retention: { storePromptsWithPII: true, maxCacheTtlMs: 90_000, feedbackWindowMs: 86_400_000 },
    });
  });

  test('unknown detectors and actions are refused', () => {
    expect(route('  compliance: { pii: { detectors: [passport] } }').success).toBe(false);
    expect(route('  compliance: { pii: { action: { hosted: mask } } }').success).toBe(false);
  });

  test('a backend whose provider is not allowed is refused with a message saying what to change', () => {
    expect(messages(route('  compliance: { allowedProviders: [openai-compatible] }'))).toEqual([
      "compliance.allowedProviders must include every backend's provider: remove the backend or allow its provider",
    ]);
  });

  test('with allowedRegions, a backend in another region or without one is refused', () => {
    const msg =
      'with compliance.allowedRegions every backend needs a region from that list: set backends[].region or allow it';
    expect(messages(route('  compliance: { allowedRegions: [eu-central-1] }'))).toEqual([msg]);
    const noRegion = `    - { name: llama, service: { name: vllm, port: 8000 } }`;
    expect(messages(route('  compliance: { allowedRegions: [eu-west-1] }', noRegion))).toEqual([msg]);
    expect(messages(route('  compliance: { allowedRegions: [eu-west-1] }'))).toEqual([]);
  });

  test('the CRD carries both rules as CEL', () => {
    const crd = JSON.stringify(allCrds().find((c) => c.info.kind === 'ModelRoute')?.crd);
    expect(crd).toContain('self.compliance.allowedProviders.exists(p, p == b.provider)');
    expect(crd).toContain('has(b.region) && self.compliance.allowedRegions.exists(r, r == b.region)');
  });

  test('a canary candidate is compiled with its own class and region, for the gateway to re-check', () => {
    const r = route('  compliance: { allowedRegions: [eu-west-1] }');
    const spec = (r.data as ModelRoute).spec;
    const stable = spec.backends[1];
    if (stable === undefined) throw new Error('no backend');
    const overlay: CanaryOverlay = {
      backend: 'hosted',
      stable,
      candidate: { ...stable, region: 'us-east-1', url: 'http://vllm.models.svc:8000/v1' },
      weight: 10,
      revision: 'r2',
    };
    const candidate = compileRoute(r.data as ModelRoute, overlay).backends.find(
      (b) => b.variant === 'canary',
    );
    expect(candidate?.region).toBe('us-east-1');
    expect(candidate?.class).toBe('in-cluster');
  });
});

describe('backend class', () => {
  test('services and cluster-local hosts are in-cluster, everything else hosted, a declared class wins', () => {
    expect(classOfUrl('http://vllm.models.svc:8000/v1')).toBe('in-cluster');
    expect(classOfUrl('http://vllm.models.svc.cluster.local:8000/v1')).toBe('in-cluster');
    expect(classOfUrl('https://api.openai.com/v1')).toBe('hosted');
    expect(classOfUrl('https://svc.example.com/v1')).toBe('hosted');
    expect(classOfUrl('not a url')).toBe('hosted');
    expect(backendClassOf({ service: {} })).toBe('in-cluster');
    expect(backendClassOf({ url: 'http://10.0.0.5:8000/v1', class: 'in-cluster' })).toBe('in-cluster');
    expect(backendClassOf({ url: 'http://vllm.models.svc:8000/v1', class: 'hosted' })).toBe('hosted');
  });
});
