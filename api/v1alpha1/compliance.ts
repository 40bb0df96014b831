// Compliance policy of a route (`ModelRoute.spec.compliance`): what personal data a prompt may carry to
// each class of backend (redact, block or allow it, and whether to put redacted values back into the
// answer), which providers and regions may serve the route at all, and how long the gateway may keep
// prompts that carried personal data. The spec, its CEL rules, and the compiled form the gateway reads
// (docs/compliance.md). Provider names come in as a parameter, so that this module needs nothing of
// modelroute.ts at load time.
import { z } from 'zod';
import { duration, durationMs, type Rule } from './common.js';

/** The PII and secret detectors of the gateway (gateway/src/compliance/detectors.ts). */
export const PII_DETECTORS = [
  'email',
  'phone',
  'card',
  'iban',
  'us_ssn',
  'uk_nino',
  'es_dni',
  'nl_bsn',
  'ipv4',
  'ipv6',
  'secret',
] as const;
export type PiiDetector = (typeof PII_DETECTORS)[number];

export const PII_ACTIONS = ['redact', 'block', 'allow'] as const;
export type PiiActionName = (typeof PII_ACTIONS)[number];

/** Where a backend runs: an in-cluster model server may be trusted with more than a hosted API. */
export const BACKEND_CLASSES = ['hosted', 'in-cluster'] as const;
export type BackendClassName = (typeof BACKEND_CLASSES)[number];

const region = () =>
  z
    .string()
    .min(1)
    .max(63)
    .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a region name such as "eu-west-1"');

/** Fields of a backend (spec and compiled) that compliance reads. */
export const backendComplianceFields = {
  region: region()
    .optional()
    .describe("Where the backend processes requests (e.g. eu-west-1); required by a route's allowedRegions"),
  class: z
    .enum(BACKEND_CLASSES)
    .optional()
    .describe(
      'hosted or in-cluster, for the PII policy; default: in-cluster for a service, or a url whose host ends ' +
        'in .svc or .svc.cluster.local, else hosted',
    ),
};

/** A URL's backend class when none is declared: cluster-local Service DNS names are in-cluster. */
export function classOfUrl(url: string): BackendClassName {
  let host: string;
  try {
    host = new URL(url).hostname.toLowerCase();
  } catch {
    return 'hosted';
  }
  return host.endsWith('.svc') || host.endsWith('.svc.cluster.local') ? 'in-cluster' : 'hosted';
}

/** A backend's class: declared, else in-cluster for a Service, else read from its URL. */
export function backendClassOf(b: {
  class?: BackendClassName | undefined;
  service?: unknown;
  url?: string | undefined;
}): BackendClassName {
  if (b.class !== undefined) return b.class;
  if (b.service !== undefined) return 'in-cluster';
  return b.url === undefined ? 'hosted' : classOfUrl(b.url);
}

export const PiiPolicySpec = z
  .object({
    detectors: z
      .array(z.enum(PII_DETECTORS))
      .min(1)
      .max(PII_DETECTORS.length)
      .optional()
      .describe('The detectors that run; default: all. Values of other kinds pass untouched'),
    action: z
      .object({
        hosted: z.enum(PII_ACTIONS).default('redact').describe('For backends of class hosted'),
        inCluster: z.enum(PII_ACTIONS).default('allow').describe('For backends of class in-cluster'),
      })
      .strict()
      .default({ hosted: 'redact', inCluster: 'allow' })
      .describe(
        'redact: replace each value with a placeholder such as [EMAIL_1]; block: refuse the request (400 ' +
          'pii_blocked naming the detectors); allow: send it as written',
      ),
    restore: z
      .boolean()
      .default(true)
      .describe('Put the redacted values back into the answer the client receives'),
  })
  .strict();

export const RetentionSpec = z
  .object({
    cache: z
      .object({
        storePromptsWithPII: z
          .boolean()
          .default(false)
          .describe('Cache answers to requests in which a detector found personal data'),
        maxTtl: duration().optional().describe("Upper bound on the lifetime of this route's cache entries"),
      })
      .strict()
      .default({ storePromptsWithPII: false }),
    feedback: z
      .object({
        window: duration()
          .optional()
          .describe(
            'How long after a request feedback on it is taken; past it the gateway no longer attributes the request (who made it, which backend answered)',
          ),
      })
      .strict()
      .optional(),
  })
  .strict();

/** `ModelRoute.spec.compliance`, on the route's provider enum. */
export function complianceSpec<P extends z.ZodType<string>>(provider: P) {
  return z
    .object({
      pii: PiiPolicySpec.optional().describe('Find personal data and secrets in prompts'),
      allowedProviders: z
        .array(provider)
        .min(1)
        .max(8)
        .optional()
        .describe('The only providers the route may send prompts to'),
      allowedRegions: z
        .array(region())
        .min(1)
        .max(32)
        .optional()
        .describe('The only regions the route may send prompts to; every backend then needs a region'),
      retention: RetentionSpec.optional().describe('What the gateway may keep of prompts with personal data'),
    })
    .strict();
}

/** What the route-level rules read of a ModelRoute spec. */
interface RouteFacts {
  backends: { provider: string; region?: string | undefined }[];
  compliance?: { allowedProviders?: string[] | undefined; allowedRegions?: string[] | undefined } | undefined;
}

/** The rules of `ModelRoute.spec` that tie its backends to its compliance lists. */
export const COMPLIANCE_RULES: Rule<RouteFacts>[] = [
  {
    rule: '!has(self.compliance) || !has(self.compliance.allowedProviders) || self.backends.all(b, self.compliance.allowedProviders.exists(p, p == b.provider))',
    message:
      "compliance.allowedProviders must include every backend's provider: remove the backend or allow its provider",
    check: (s) =>
      s.compliance?.allowedProviders === undefined ||
      s.backends.every((b) => s.compliance?.allowedProviders?.includes(b.provider)),
    path: ['backends'],
  },
  {
    rule: '!has(self.compliance) || !has(self.compliance.allowedRegions) || self.backends.all(b, has(b.region) && self.compliance.allowedRegions.exists(r, r == b.region))',
    message:
      'with compliance.allowedRegions every backend needs a region from that list: set backends[].region or allow it',
    check: (s) =>
      s.compliance?.allowedRegions === undefined ||
      s.backends.every((b) => b.region !== undefined && s.compliance?.allowedRegions?.includes(b.region)),
    path: ['backends'],
  },
];

const CompiledPii = z
  .object({
    detectors: z.array(z.enum(PII_DETECTORS)).min(1).max(PII_DETECTORS.length),
    hosted: z.enum(PII_ACTIONS),
    inCluster: z.enum(PII_ACTIONS),
    restore: z.boolean(),
  })
  .strict();

const CompiledRetention = z
  .object({
    storePromptsWithPII: z.boolean(),
    maxCacheTtlMs: z.number().positive().optional(),
    feedbackWindowMs: z.number().positive().optional(),
  })
  .strict();

/** The compiled compliance of a route, every default filled in (the gateway reads plain values). */
export function compiledComplianceSchema<P extends z.ZodType<string>>(provider: P) {
  return z
    .object({
      pii: CompiledPii.optional(),
      allowedProviders: z.array(provider).min(1).max(8).optional(),
      allowedRegions: z.array(region()).min(1).max(32).optional(),
      retention: CompiledRetention,
    })
    .strict();
}

/** `ModelRoute.spec.compliance` as written, for a provider name type `P`. */
interface ComplianceInput<P extends string> {
  pii?: z.input<typeof PiiPolicySpec> | undefined;
  allowedProviders?: P[] | undefined;
  allowedRegions?: string[] | undefined;
  retention?: z.input<typeof RetentionSpec> | undefined;
}

export interface CompiledCompliance<P extends string = string> {
  pii?: z.infer<typeof CompiledPii>;
  allowedProviders?: P[];
  allowedRegions?: string[];
  retention: z.infer<typeof CompiledRetention>;
}

/** The route's compiled compliance, or nothing when it declares none (its config stays as it was). */
export function compileCompliance<P extends string>(
  spec: ComplianceInput<P> | undefined,
): { compliance?: CompiledCompliance<P> } {
  if (spec === undefined) return {};
  const pii = spec.pii === undefined ? undefined : PiiPolicySpec.parse(spec.pii);
  const { cache, feedback } = RetentionSpec.parse(spec.retention ?? {});
  return {
    compliance: {
      ...(pii !== undefined
        ? {
            pii: {
              detectors: pii.detectors ?? [...PII_DETECTORS],
              hosted: pii.action.hosted,
              inCluster: pii.action.inCluster,
              restore: pii.restore,
            },
          }
        : {}),
      ...(spec.allowedProviders !== undefined ? { allowedProviders: spec.allowedProviders } : {}),
      ...(spec.allowedRegions !== undefined ? { allowedRegions: spec.allowedRegions } : {}),
      retention: {
        storePromptsWithPII: cache.storePromptsWithPII,
        ...(cache.maxTtl !== undefined ? { maxCacheTtlMs: durationMs(cache.maxTtl) } : {}),
        ...(feedback?.window !== undefined ? { feedbackWindowMs: durationMs(feedback.window) } : {}),
      },
    },
  };
}

/** A compiled backend's class and region, on routes with a compliance policy only. */
export function compileBackendCompliance(
  b: { class?: BackendClassName | undefined; region?: string | undefined; service?: unknown; url?: string },
  routeHasCompliance: boolean,
): { class?: BackendClassName; region?: string } {
  if (!routeHasCompliance) return b.region !== undefined ? { region: b.region } : {};
  return { class: backendClassOf(b), ...(b.region !== undefined ? { region: b.region } : {}) };
}

/** The spec's type, for tests and tools. */
export type ComplianceSpec = z.infer<ReturnType<typeof complianceSpec<z.ZodType<string>>>>;
