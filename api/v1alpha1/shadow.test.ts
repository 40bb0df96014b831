import { parse } from 'yaml';
import { GatewayConfig, ModelRoute, compileRoute, finishGatewayConfig } from './index.js';

const manifest = (shadow: string) =>
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
${shadow}
`) as unknown;

describe('ModelRoute.spec.shadow', () => {
  test('compiles to the route with its defaults, the backend resolved like any other', () => {
    const route = ModelRoute.parse(
      manifest(`  shadow:
    backend:
      name: llama-next
      service: { name: vllm-next, port: 8000 }
      model: llama-3.2
      pricing: { inputPerMillionTokens: 0.1 }
    percent: 20
    compare: normalised`),
    );
    const compiled = compileRoute(route);
    expect(compiled.shadow).toEqual({
      backend: {
        name: 'llama-next',
        provider: 'openai-compatible',
        url: 'http://vllm-next.llm.svc.cluster.local:8000/v1',
        model: 'llama-3.2',
        pricing: { inputPerMillionTokens: 0.1, outputPerMillionTokens: 0 },
      },
      percent: 20,
      maxInflight: 16,
      compare: 'normalised',
      timeoutMs: 30_000,
    });
    // The shadow serves no live traffic: it is not among the route's backends.
    expect(compiled.backends.map((b) => b.name)).toEqual(['llama']);
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
      routes: [compiled],
    });
    expect(GatewayConfig.safeParse(config).success).toBe(true);
  });

  test('a route without one compiles with no shadow key at all', () => {
    expect('shadow' in compileRoute(ModelRoute.parse(manifest('')))).toBe(false);
  });

  test.each([
    [
      'a spill-over target',
      `      spillOver: { to: llama }`,
      'shadow.backend.spillOver does not apply: a mirrored call is never moved to another backend',
    ],
    [
      'an in-flight bound of its own',
      `      maxConcurrentRequests: 4`,
      'shadow.backend.maxConcurrentRequests does not apply: bound mirrored calls with shadow.maxInflight',
    ],
  ])('refuses a shadow backend with %s, saying what to change', (_what, extra, message) => {
    const r = ModelRoute.safeParse(
      manifest(`  shadow:
    backend:
      name: next
      url: http://next:8000/v1
${extra}`),
    );
    expect(r.success).toBe(false);
    expect(r.error?.issues.map((i) => i.message)).toContain(message);
  });

  test('refuses a percent above 100, a zero in-flight bound and an unknown compare mode', () => {
    for (const bad of ['percent: 101', 'maxInflight: 0', 'compare: fuzzy']) {
      const r = ModelRoute.safeParse(
        manifest(`  shadow:
    backend: { name: next, url: 'http://next:8000/v1' }
    ${bad}`),
      );
      expect(r.success).toBe(false);
    }
  });
});
