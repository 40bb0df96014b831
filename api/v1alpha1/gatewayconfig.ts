// GatewayConfig: the contract between the operator and the gateway. The operator compiles every route
// attached to a gateway into one GatewayConfig (a ConfigMap key); the gateway validates it on load and
// never replaces its last good config with one that fails this schema. Durations are resolved to
// milliseconds and every default is filled in, so the gateway reads plain values.
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { API_VERSION, dnsLabel, durationMs, objectName, percent } from './common.js';
import { CohortMatch } from './canary.js';
import type { CanaryOverlay } from './canary-overlay.js';
import { CompiledExperiment } from './experiment-compiled.js';
import { checkRouteExperiment } from './experiment-route.js';
import * as compliance from './compliance.js';
import { egressAllowEntry, GatewayCacheSpec, GatewayLimitsSpec, ModelGatewaySpec } from './modelgateway.js';
import {
  Backend as BackendSchema,
  Pricing,
  Provider,
  modelName,
  type Backend,
  type ModelRoute,
} from './modelroute.js';
import {
  Budget,
  FALLBACK_CAUSES,
  Fallback,
  LIMIT_SUBJECTS,
  RateLimit,
  Retry,
  RouteCache,
  SemanticCache,
  Timeouts,
} from './route-policies.js';
import {
  PROMPT_DOMAINS,
  RouterEmbeddings,
  SELECTION_POLICIES,
  Selection,
  embeddingsServerFields,
} from './selection.js';
import { compiledShadowSchema, compileShadow } from './shadow.js';
import { CompiledRouteTracing, CompiledTracing, RouteTracingSpec } from './tracing.js';

export const GATEWAY_CONFIG_KEY = 'config.json';

export const CompiledBackend = z
  .object({
    name: dnsLabel(),
    variant: z.enum(['stable', 'canary']),
    provider: Provider,
    url: z
      .string()
      .max(2048)
      .regex(/^https?:\/\//, 'must be an http(s) URL')
      // The route's pattern admits text no URL parser does ("http://[", a port above 65535): refused here,
      // by the operator compiling the route and by the gateway loading it, rather than failing the load.
      .refine((u) => URL.canParse(u), 'must be a URL'),
    model: modelName(),
    credentials: z
      .object({ namespace: dnsLabel(), name: objectName(), key: z.string().min(1).max(253) })
      .strict()
      .optional(),
    pricing: z
      .object({ inputPerMillionTokens: z.number().min(0), outputPerMillionTokens: z.number().min(0) })
      .strict(),
    weight: z.number().int().min(0).max(10_000),
    quality: z.number().min(0).max(1).optional(),
    maxConcurrentRequests: z.number().int().min(1).optional(),
    spillOver: z.object({ to: dnsLabel(), onThrottle: z.boolean() }).strict().optional(),
    ...compliance.backendComplianceFields,
  })
  .strict();
export type CompiledBackend = z.infer<typeof CompiledBackend>;

export const CompiledRoute = z
  .object({
    namespace: dnsLabel(),
    name: objectName(),
    model: modelName(),
    backends: z.array(CompiledBackend).min(1).max(32),
    selection: z
      .object({
        policy: z.enum(SELECTION_POLICIES),
        stickiness: z.enum(['user', 'api-key', 'none']),
        qualityCost: z
          .object({
            strongBackend: dnsLabel(),
            weakBackend: dnsLabel(),
            threshold: z.number().min(0).max(1),
            targetQuality: z.number().min(0.5).max(1).optional(),
            learning: z
              .object({ exploration: z.number().min(0).max(0.2), goodScore: z.number().min(0).max(1) })
              .strict()
              .optional(),
            model: z
              .object({ configMapRef: z.object({ name: objectName(), key: z.string().min(1) }).strict() })
              .strict()
              .optional(),
            embeddings: RouterEmbeddings.optional(),
          })
          .strict()
          .optional(),
        domains: z
          .array(
            z
              .object({
                domains: z.array(z.enum(PROMPT_DOMAINS)).min(1),
                backend: dnsLabel(),
                minConfidence: z.number().min(0).max(1),
              })
              .strict(),
          )
          .optional(),
      })
      .strict(),
    fallback: z
      .object({ on: z.array(z.enum(FALLBACK_CAUSES)), maxAttempts: z.number().int().min(1).max(10) })
      .strict(),
    retry: z
      .object({
        attempts: z.number().int().min(0).max(5),
        backoffMs: z.number().min(0),
        maxBackoffMs: z.number().min(0),
        maxRetryAfterMs: z.number().min(0),
      })
      .strict(),
    timeouts: z.object({ firstTokenMs: z.number().positive(), totalMs: z.number().positive() }).strict(),
    cache: z
      .object({
        mode: z.enum(['off', 'exact', 'semantic']),
        semantic: z
          .object({
            threshold: z.number().min(0.5).max(1),
            guard: z.boolean(),
            maxEntries: z.number().int().min(1),
            embeddings: z.object(embeddingsServerFields('a miss')).strict().optional(),
          })
          .strict()
          .optional(),
        ttlMs: z.number().positive(),
        scope: z.enum(['route', 'team', 'api-key']),
        cacheNonDeterministic: z.boolean(),
        // Present only when true, so configs of routes without it stay byte-identical.
        keepAcrossRevisions: z.literal(true).optional(),
      })
      .strict(),
    rateLimits: z
      .array(
        z
          .object({
            per: z.enum(LIMIT_SUBJECTS),
            requestsPerMinute: z.number().int().positive().optional(),
            tokensPerMinute: z.number().int().positive().optional(),
          })
          .strict(),
      )
      .max(8),
    budgets: z
      .array(
        z
          .object({
            per: z.enum(LIMIT_SUBJECTS),
            usd: z.number().positive(),
            window: z.enum(['day', 'month']),
            onExhausted: z.enum(['reject', 'fallback']),
            fallbackBackend: dnsLabel().optional(),
          })
          .strict(),
      )
      .max(8),
    canary: z
      .object({
        backend: dnsLabel().describe('The backend name whose traffic is split between stable and canary'),
        weight: percent(),
        revision: z.string().max(64),
        match: z.array(CohortMatch).max(8).optional(),
      })
      .strict()
      .optional(),
    tracing: CompiledRouteTracing.optional(),
    experiment: CompiledExperiment.optional(),
    compliance: compliance.compiledComplianceSchema(Provider).optional(),
    shadow: compiledShadowSchema(CompiledBackend).optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    const seen = new Set<string>();
    for (const b of r.backends) {
      const id = `${b.name}/${b.variant}`;
      if (seen.has(id))
        ctx.addIssue({ code: 'custom', message: `duplicate backend ${id}`, path: ['backends'] });
      seen.add(id);
    }
    if (r.canary && !r.backends.some((b) => b.name === r.canary?.backend && b.variant === 'canary')) {
      ctx.addIssue({
        code: 'custom',
        message: `canary backend ${r.canary.backend} has no canary variant`,
        path: ['canary'],
      });
    }
    checkRouteExperiment(r, ctx);
  });
export type CompiledRoute = z.infer<typeof CompiledRoute>;

export const GatewayConfig = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal('GatewayConfig'),
    revision: z.string().max(64).describe('Hash of the content; reported by the gateway it serves'),
    gateway: z.object({ namespace: dnsLabel(), name: dnsLabel() }).strict(),
    auth: z
      .object({ apiKeysSecretRef: z.object({ namespace: dnsLabel(), name: objectName() }).strict() })
      .strict()
      .optional(),
    redis: z
      .object({ failurePolicy: z.enum(['local', 'closed']) })
      .strict()
      .optional(),
    cache: z
      .object({ maxEntries: z.number().int().positive(), maxEntryBytes: z.number().int().positive() })
      .strict(),
    limits: z
      .object({
        maxRequestBytes: z.number().int().positive(),
        maxConcurrentRequests: z.number().int().positive(),
        requestTimeoutSeconds: z.number().int().positive(),
        headersTimeoutSeconds: z.number().int().positive(),
      })
      .strict(),
    egress: z
      .object({ allow: z.array(egressAllowEntry).max(64) })
      .strict()
      .optional()
      .describe('Non-public destinations backends may resolve to; absent: public addresses only'),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']),
    tracing: CompiledTracing.optional().describe('Where spans of the requests go; absent: no tracing'),
    routes: z.array(CompiledRoute).max(5000),
  })
  .strict()
  .superRefine((c, ctx) => {
    const models = new Set<string>();
    for (const r of c.routes) {
      if (models.has(r.model))
        ctx.addIssue({ code: 'custom', message: `two routes serve model ${r.model}`, path: ['routes'] });
      models.add(r.model);
    }
  });
export type GatewayConfig = z.infer<typeof GatewayConfig>;

/** Everything of a GatewayConfig but its revision, which `finishGatewayConfig` computes. */
export type GatewayConfigDraft = Omit<GatewayConfig, 'revision' | 'apiVersion' | 'kind'>;

/**
 * The gateway-wide part of a GatewayConfig from a ModelGateway's spec (or none, for a standalone gateway),
 * every default taken from the ModelGateway schema.
 */
export function compileGatewaySettings(
  gateway: { namespace: string; name: string },
  spec: z.input<typeof ModelGatewaySpec> = {},
): Omit<GatewayConfigDraft, 'routes'> {
  const s = ModelGatewaySpec.parse(spec);
  const ns = gateway.namespace;
  return {
    gateway: { namespace: ns, name: gateway.name },
    ...(s.auth ? { auth: { apiKeysSecretRef: { namespace: ns, name: s.auth.apiKeysSecretRef.name } } } : {}),
    ...(s.redis ? { redis: { failurePolicy: s.redis.failurePolicy } } : {}),
    cache: GatewayCacheSpec.parse(s.cache ?? {}),
    limits: GatewayLimitsSpec.parse(s.limits ?? {}),
    ...(s.egress !== undefined && s.egress.allow.length > 0 ? { egress: { allow: s.egress.allow } } : {}),
    logLevel: s.logLevel,
    ...(s.tracing !== undefined ? { tracing: s.tracing } : {}),
  };
}

/** Stamps the apiVersion, kind and content revision onto a draft. Deterministic: same draft, same bytes. */
export function finishGatewayConfig(draft: GatewayConfigDraft): GatewayConfig {
  const body = { apiVersion: API_VERSION as typeof API_VERSION, kind: 'GatewayConfig' as const, ...draft };
  const revision = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 16);
  return { apiVersion: body.apiVersion, kind: body.kind, revision, ...draft };
}

/** The base URL of a backend: its url, or the in-cluster DNS name of its Service. */
export function backendBaseUrl(backend: Backend, routeNamespace: string): string {
  if (backend.url !== undefined) return backend.url.replace(/\/+$/, '');
  const s = backend.service;
  if (s === undefined) throw new Error(`backend ${backend.name} has neither url nor service`);
  const ns = s.namespace ?? routeNamespace;
  const path = (s.basePath ?? '/v1').replace(/\/+$/, '');
  return `${s.scheme ?? 'http'}://${s.name}.${ns}.svc.cluster.local:${s.port}${path}`;
}

function compileBackend(spec: Backend, variant: 'stable' | 'canary', route: ModelRoute): CompiledBackend {
  const ns = route.metadata.namespace ?? 'default';
  const b = BackendSchema.parse(spec); // fills in the schema's defaults
  return {
    name: b.name,
    variant,
    provider: b.provider,
    url: backendBaseUrl(b, ns),
    model: b.model ?? route.spec.model,
    ...(b.credentialsSecretRef ? { credentials: { namespace: ns, ...b.credentialsSecretRef } } : {}),
    pricing: Pricing.parse(b.pricing ?? {}),
    weight: b.weight,
    ...(b.quality !== undefined ? { quality: b.quality } : {}),
    ...(b.maxConcurrentRequests !== undefined ? { maxConcurrentRequests: b.maxConcurrentRequests } : {}),
    ...(b.spillOver !== undefined
      ? { spillOver: { to: b.spillOver.to, onThrottle: b.spillOver.onThrottle } }
      : {}),
    ...compliance.compileBackendCompliance(b, route.spec.compliance !== undefined),
  };
}

function compileBackends(
  route: ModelRoute,
  canary: CanaryOverlay | undefined,
  splits: boolean,
): CompiledBackend[] {
  const out: CompiledBackend[] = [];
  for (const b of route.spec.backends) {
    if (canary && b.name === canary.backend) {
      out.push(compileBackend({ ...canary.stable, name: b.name }, 'stable', route));
      if (splits) out.push(compileBackend({ ...canary.candidate, name: b.name }, 'canary', route));
    } else {
      out.push(compileBackend(b, 'stable', route));
    }
  }
  return out;
}

function compileCache({
  ttl,
  keepAcrossRevisions,
  semantic,
  ...rest
}: z.infer<typeof RouteCache>): CompiledRoute['cache'] {
  return {
    ...rest,
    // A semantic route always carries its settings (defaults filled), others none.
    ...(rest.mode === 'semantic' ? { semantic: semantic ?? SemanticCache.parse({}) } : {}),
    ttlMs: durationMs(ttl),
    ...(keepAcrossRevisions ? { keepAcrossRevisions: true } : {}),
  };
}

/**
 * Compiles a ModelRoute into its GatewayConfig form, with every default of the schema filled in. With a
 * canary overlay, the overlay's backend is served from `stable`, and `candidate` is added as its canary
 * variant while the weight is above 0 (at 0 — rolled back, not started — stable is served alone). An
 * experiment overlay (experimentOverlayFor) is carried as it is.
 */
export function compileRoute(
  route: ModelRoute,
  canary?: CanaryOverlay,
  experiment?: CompiledExperiment,
): CompiledRoute {
  const s = route.spec;
  const splits = canary !== undefined && canary.weight > 0;
  const selection = Selection.parse(s.selection ?? {});
  const retry = Retry.parse(s.retry ?? {});
  const timeouts = Timeouts.parse(s.timeouts ?? {});
  return {
    namespace: route.metadata.namespace ?? 'default',
    name: route.metadata.name,
    model: s.model,
    backends: compileBackends(route, canary, splits),
    selection,
    fallback: (({ when, maxAttempts }) => ({ on: when, maxAttempts }))(Fallback.parse(s.fallback ?? {})),
    retry: {
      attempts: retry.attempts,
      backoffMs: durationMs(retry.backoff),
      maxBackoffMs: durationMs(retry.maxBackoff),
      maxRetryAfterMs: durationMs(retry.maxRetryAfter),
    },
    timeouts: { firstTokenMs: durationMs(timeouts.firstToken), totalMs: durationMs(timeouts.total) },
    cache: compileCache(RouteCache.parse(s.cache ?? {})),
    rateLimits: (s.rateLimits ?? []).map((r) => RateLimit.parse(r)),
    budgets: (s.budgets ?? []).map((b) => Budget.parse(b)),
    ...(RouteTracingSpec.parse(s.tracing ?? {}).capturePrompts ? { tracing: { capturePrompts: true } } : {}),
    ...(canary && splits
      ? {
          canary: {
            backend: canary.backend,
            weight: canary.weight,
            revision: canary.revision,
            ...(canary.match ? { match: canary.match } : {}),
          },
        }
      : {}),
    ...(experiment !== undefined ? { experiment } : {}),
    ...compliance.compileCompliance(s.compliance),
    ...compileShadow(s.shadow, canary?.shadow, (b) => compileBackend(b, 'stable', route)),
  };
}
