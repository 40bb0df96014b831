// Builders for tests, the demo and benchmarks: a GatewayConfig from a few backend URLs, with the same
// defaults the operator compiles.
import {
  finishGatewayConfig,
  type CompiledBackend,
  type CompiledRoute,
  type GatewayConfig,
} from '../api/v1alpha1/index.js';

export interface BackendSketch extends Partial<Omit<CompiledBackend, 'name' | 'url'>> {
  name: string;
  url: string;
}

export function compiledRoute(
  model: string,
  backends: BackendSketch[],
  overrides: Partial<Omit<CompiledRoute, 'backends' | 'model'>> = {},
): CompiledRoute {
  return {
    namespace: 'default',
    name: model.replace(/[^a-z0-9-]/g, '-'),
    model,
    backends: backends.map((b) => ({
      variant: 'stable',
      provider: 'openai-compatible',
      model: 'sim-model',
      pricing: { inputPerMillionTokens: 1, outputPerMillionTokens: 2 },
      weight: 1,
      ...b,
    })),
    selection: { policy: 'weighted', stickiness: 'user' },
    fallback: { on: ['5xx', '429', 'timeout', 'connect-error'], maxAttempts: 3 },
    retry: { attempts: 1, backoffMs: 10, maxBackoffMs: 100, maxRetryAfterMs: 10_000 },
    timeouts: { firstTokenMs: 5_000, totalMs: 30_000 },
    cache: { mode: 'off', ttlMs: 60_000, scope: 'api-key', cacheNonDeterministic: false },
    rateLimits: [],
    budgets: [],
    ...overrides,
  };
}

/** The loopback range, which test configs allow their upstreams on. */
export const LOOPBACK = '127.0.0.0/8';

export function gatewayConfig(
  routes: CompiledRoute[],
  limits: Partial<GatewayConfig['limits']> = {},
): GatewayConfig {
  return finishGatewayConfig({
    gateway: { namespace: 'default', name: 'test' },
    cache: { maxEntries: 1000, maxEntryBytes: 1_048_576 },
    limits: {
      maxRequestBytes: 1_048_576,
      maxConcurrentRequests: 1000,
      requestTimeoutSeconds: 60,
      headersTimeoutSeconds: 10,
      ...limits,
    },
    // Test upstreams listen on loopback, which the egress policy refuses unless allowed.
    egress: { allow: [LOOPBACK] },
    logLevel: 'error',
    routes,
  });
}

type QualityCost = NonNullable<CompiledRoute['selection']['qualityCost']>;

/**
 * A quality-cost route choosing between backends "strong" and "weak" at these URLs (ending in /v1), with
 * the threshold 0.5 unless `qualityCost` says otherwise.
 */
export function qualityCostRoute(
  urls: { strong: string; weak: string },
  qualityCost: Partial<Omit<QualityCost, 'strongBackend' | 'weakBackend'>> = {},
  overrides: Partial<Omit<CompiledRoute, 'backends' | 'model' | 'selection'>> & { model?: string } = {},
): CompiledRoute {
  const { model = 'chat', ...rest } = overrides;
  return compiledRoute(
    model,
    [
      { name: 'strong', url: urls.strong },
      { name: 'weak', url: urls.weak },
    ],
    {
      ...rest,
      selection: {
        policy: 'quality-cost',
        stickiness: 'none',
        qualityCost: { strongBackend: 'strong', weakBackend: 'weak', threshold: 0.5, ...qualityCost },
      },
    },
  );
}
