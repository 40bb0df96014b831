// Builders of the plain data the policy tests need: a compiled route, a GatewayConfig, a compliance policy,
// a manual clock, and a gateway logger whose output a test can read back (to assert what is and is not logged).
import { Writable } from 'node:stream';
import { PII_DETECTORS } from '../api/v1alpha1/compliance.js';
import type { CompiledBackend, CompiledRoute, GatewayConfig } from '../api/v1alpha1/gatewayconfig.js';
import { createLogger, type Logger } from '../gateway/src/log.js';
import type { Clock } from '../gateway/src/policy/types.js';

export function backendFixture(overrides: Partial<CompiledBackend> = {}): CompiledBackend {
  return {
    name: 'premium',
    variant: 'stable',
    provider: 'openai',
    url: 'http://127.0.0.1:1/v1',
    model: 'gpt-4o',
    pricing: { inputPerMillionTokens: 2.5, outputPerMillionTokens: 10 },
    weight: 1,
    ...overrides,
  };
}

export function routeFixture(overrides: Partial<CompiledRoute> = {}): CompiledRoute {
  return {
    namespace: 'llm',
    name: 'chat',
    model: 'chat',
    backends: [backendFixture()],
    selection: { policy: 'weighted', stickiness: 'user' },
    fallback: { on: ['5xx'], maxAttempts: 1 },
    retry: { attempts: 0, backoffMs: 100, maxBackoffMs: 1000, maxRetryAfterMs: 1000 },
    timeouts: { firstTokenMs: 30_000, totalMs: 300_000 },
    cache: { mode: 'off', ttlMs: 300_000, scope: 'api-key', cacheNonDeterministic: false },
    rateLimits: [],
    budgets: [],
    ...overrides,
  };
}

export function configFixture(overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'GatewayConfig',
    revision: 'test',
    gateway: { namespace: 'llm', name: 'default' },
    cache: { maxEntries: 1000, maxEntryBytes: 1_048_576 },
    limits: {
      maxRequestBytes: 4_194_304,
      maxConcurrentRequests: 4096,
      requestTimeoutSeconds: 600,
      headersTimeoutSeconds: 30,
    },
    egress: { allow: ['127.0.0.0/8'] },
    logLevel: 'info',
    routes: [routeFixture()],
    ...overrides,
  };
}

export interface ManualClock extends Clock {
  advance(ms: number): void;
  set(ms: number): void;
}

export function manualClock(start = Date.UTC(2025, 0, 15, 12, 0, 0)): ManualClock {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

/** A debug-level logger that writes its JSON lines into `lines`. */
export function captureLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: createLogger('debug', false, stream), lines };
}

export function chatRequest(content: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'chat', messages: [{ role: 'user', content }], ...extra };
}

type Compliance = NonNullable<CompiledRoute['compliance']>;

/** A route's compiled compliance as `compliance: { pii: {} }` compiles (the defaults), `pii` fields overridden. */
export const complianceFixture = (pii: Partial<NonNullable<Compliance['pii']>> = {}): Compliance => ({
  pii: { detectors: [...PII_DETECTORS], hosted: 'redact', inCluster: 'allow', restore: true, ...pii },
  retention: { storePromptsWithPII: false },
});
