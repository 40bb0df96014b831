// ModelRoute: which backends serve one model name, how a backend is selected per request, and the
// policies around it (fallback, retries, timeouts, cache, rate limits, budgets: route-policies.ts).
import { z } from 'zod';
import {
  LocalObjectReference,
  SecretKeySelector,
  dnsLabel,
  objectName,
  percent,
  resource,
  statusBase,
  withRules,
} from './common.js';
import { COMPLIANCE_RULES, backendComplianceFields, complianceSpec } from './compliance.js';
import { Budget, Fallback, RateLimit, Retry, RouteCache, Timeouts } from './route-policies.js';
import { Selection } from './selection.js';
import { shadowSpec } from './shadow.js';
import { RouteTracingSpec } from './tracing.js';

export const PROVIDERS = ['openai', 'openai-compatible', 'anthropic'] as const;
export const Provider = z.enum(PROVIDERS);
export type Provider = z.infer<typeof Provider>;

/** A client-facing or upstream model name. */
export const modelName = () =>
  z
    .string()
    .min(1)
    .max(128)
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9._:/@-]*$/,
      'must be letters, digits and . _ : / @ -, starting with a letter or digit',
    );

export const Pricing = z
  .object({
    inputPerMillionTokens: z.number().min(0).max(10_000).default(0).describe('USD per million input tokens'),
    outputPerMillionTokens: z
      .number()
      .min(0)
      .max(10_000)
      .default(0)
      .describe('USD per million output tokens'),
  })
  .strict();
export type Pricing = z.infer<typeof Pricing>;

export const ServiceReference = z
  .object({
    name: dnsLabel(),
    namespace: dnsLabel().optional().describe("Defaults to the route's namespace"),
    port: z.number().int().min(1).max(65535),
    scheme: z.enum(['http', 'https']).default('http'),
    basePath: z
      .string()
      .max(256)
      .regex(/^(\/[A-Za-z0-9._~-]+)*\/?$/, 'must be a URL path such as "/v1"')
      .default('/v1'),
  })
  .strict();

export const SpillOver = z
  .object({
    to: dnsLabel().describe('The backend of this route that takes the excess, typically a hosted API'),
    onThrottle: z
      .boolean()
      .default(true)
      .describe(
        'A 429 or 503 from this backend sends that request to `to` at once and lowers the in-flight bound ' +
          'to what the backend keeps up with; the bound grows back while it answers',
      ),
  })
  .strict();

export const Backend = withRules(
  z
    .object({
      name: dnsLabel().describe('Unique within the route; shown in metrics and status'),
      provider: Provider.default('openai-compatible'),
      url: z
        .string()
        .max(2048)
        .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL')
        .optional()
        .describe('Base URL including the API prefix, e.g. https://api.openai.com/v1'),
      service: ServiceReference.optional().describe('An in-cluster model server'),
      model: modelName().optional().describe("Model name sent upstream; defaults to the route's model"),
      credentialsSecretRef: SecretKeySelector.optional().describe('Secret key holding the upstream API key'),
      pricing: Pricing.optional(),
      weight: z
        .number()
        .int()
        .min(0)
        .max(10_000)
        .default(1)
        .describe('Relative share under the weighted policy'),
      quality: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe('Relative answer quality 0–1, used by the quality-cost policy'),
      maxConcurrentRequests: z
        .number()
        .int()
        .min(1)
        .max(100_000)
        .optional()
        .describe(
          'Most requests in flight to this backend from one gateway process: the excess goes to the next ' +
            'backend of its plan (the spillOver target first), and is refused with 429 when there is none',
        ),
      spillOver: SpillOver.optional().describe(
        'Send the excess to another backend while this one is saturated (e.g. a model-server pool that is ' +
          'scaling up): over maxConcurrentRequests, or when it answers 429 or 503',
      ),
      ...backendComplianceFields,
    })
    .strict(),
  [
    {
      rule: 'has(self.url) != has(self.service)',
      message: 'a backend needs exactly one of url or service',
      check: (b) => (b.url === undefined) !== (b.service === undefined),
    },
    {
      rule: '!has(self.url) || isURL(self.url)',
      message: 'url must be a valid URL: a host name or address, a port if any, and %-escapes that decode',
      check: (b) => b.url === undefined || URL.canParse(b.url),
      path: ['url'],
    },
  ],
);
export type Backend = z.infer<typeof Backend>;

export const ModelRouteSpec = withRules(
  z
    .object({
      gatewayRef: LocalObjectReference.describe('The ModelGateway in this namespace that serves the route'),
      model: modelName().describe('What clients send in "model"'),
      backends: z.array(Backend).min(1).max(16),
      selection: Selection.optional(),
      fallback: Fallback.optional(),
      retry: Retry.optional(),
      timeouts: Timeouts.optional(),
      cache: RouteCache.optional(),
      rateLimits: z.array(RateLimit).max(8).optional(),
      budgets: z.array(Budget).max(8).optional(),
      tracing: RouteTracingSpec.optional().describe(
        "What this route's spans record beyond the defaults, when its gateway traces requests",
      ),
      compliance: complianceSpec(Provider)
        .optional()
        .describe('PII policy, allowed providers and regions, retention'),
      shadow: shadowSpec(Backend)
        .optional()
        .describe('Mirror a share of the requests to a candidate backend'),
    })
    .strict(),
  [
    {
      rule: 'self.backends.all(b, self.backends.exists_one(x, x.name == b.name))',
      message: 'backend names must be unique within a route',
      check: (s) => new Set(s.backends.map((b) => b.name)).size === s.backends.length,
      path: ['backends'],
    },
    {
      rule: 'self.backends.all(b, !has(b.spillOver) || (b.spillOver.to != b.name && self.backends.exists(x, x.name == b.spillOver.to)))',
      message: 'backends[].spillOver.to must name another backend of this route',
      check: (s) =>
        s.backends.every(
          (b) =>
            b.spillOver === undefined ||
            (b.spillOver.to !== b.name && s.backends.some((x) => x.name === b.spillOver?.to)),
        ),
      path: ['backends'],
    },
    {
      rule: '!has(self.budgets) || self.budgets.all(g, !has(g.fallbackBackend) || self.backends.exists(b, b.name == g.fallbackBackend))',
      message: 'budgets[].fallbackBackend must name a backend of this route',
      check: (s) =>
        (s.budgets ?? []).every(
          (g) => g.fallbackBackend === undefined || s.backends.some((b) => b.name === g.fallbackBackend),
        ),
      path: ['budgets'],
    },
    {
      rule: '!has(self.selection) || !has(self.selection.qualityCost) || (self.backends.exists(b, b.name == self.selection.qualityCost.strongBackend) && self.backends.exists(b, b.name == self.selection.qualityCost.weakBackend))',
      message: 'selection.qualityCost.strongBackend and weakBackend must name backends of this route',
      check: (s) => {
        const qc = s.selection?.qualityCost;
        const names = new Set(s.backends.map((b) => b.name));
        return qc === undefined || (names.has(qc.strongBackend) && names.has(qc.weakBackend));
      },
      path: ['selection', 'qualityCost'],
    },
    {
      rule: '!has(self.selection) || !has(self.selection.domains) || self.selection.domains.all(r, self.backends.exists(b, b.name == r.backend))',
      message: 'selection.domains[].backend must name a backend of this route',
      check: (s) => (s.selection?.domains ?? []).every((r) => s.backends.some((b) => b.name === r.backend)),
      path: ['selection', 'domains'],
    },
    ...COMPLIANCE_RULES,
  ],
);
export type ModelRouteSpec = z.infer<typeof ModelRouteSpec>;

export const EffectiveBackend = z
  .object({
    name: dnsLabel(),
    variant: z.enum(['stable', 'canary']),
    weightPercent: percent().describe('Share of the route traffic this backend receives before fallback'),
    model: z.string().max(128).optional(),
    excluded: z
      .string()
      .max(512)
      .optional()
      .describe('Why the backend receives no traffic, when it does not'),
  })
  .strict();

export const ModelRouteStatus = z
  .object({
    ...statusBase,
    gateway: objectName().optional(),
    backends: z.array(EffectiveBackend).max(32).optional(),
    backendCount: z.number().int().min(0).optional(),
    canaryWeight: percent().optional(),
    policies: z.array(z.string().max(256)).max(16).optional().describe('Policies in force, in words'),
    router: z
      .object({
        models: z
          .array(z.string().max(128))
          .max(8)
          .describe('The router models the gateway instances decide with, as "<kind> <version>"'),
        learnedWeakShare: z
          .string()
          .max(8)
          .optional()
          .describe("The learning router's planned weak share of its learned traffic, mean of the instances"),
        instances: z.number().int().min(0).describe('Gateway instances that reported'),
      })
      .strict()
      .optional()
      .describe("What the gateway instances report of a quality-cost or domain route's routers"),
  })
  .strict();
export type ModelRouteStatus = z.infer<typeof ModelRouteStatus>;

export const ModelRoute = resource('ModelRoute', ModelRouteSpec, ModelRouteStatus);
export type ModelRoute = z.infer<typeof ModelRoute>;
