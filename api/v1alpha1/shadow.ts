// Shadow traffic: a share of a route's requests mirrored to a candidate backend whose answers no client
// ever sees. The route's spec (`ModelRoute.spec.shadow`), its compiled form, the settings a Canary's
// shadow phase puts on its route, and the metrics the gateway exports of mirrored calls.
// The shadow backend is a backend spec of its own, not a name among the route's backends: no selection
// policy, fallback, spill-over or budget fallback can ever send it a live request (docs/shadow-traffic.md).
import { z } from 'zod';
import { duration, durationMs, percent, withRules } from './common.js';
import type {
  CompiledBackend,
  CompiledBackend as CompiledBackendSchema,
  CompiledRoute,
} from './gatewayconfig.js';
import type { Canary } from './canary.js';
import type { Backend, Backend as BackendSchema } from './modelroute.js';

export const SHADOW_COMPARE_MODES = ['none', 'exact', 'normalised', 'format'] as const;
export type ShadowCompareMode = (typeof SHADOW_COMPARE_MODES)[number];

/** Mirrored calls in flight per route and gateway process when a route names no bound. */
export const DEFAULT_SHADOW_MAX_INFLIGHT = 16;

/** The share of the gateway's concurrency bound above which no request is mirrored. */
export const SHADOW_GATEWAY_LOAD_CUTOFF = 0.5;

/** The mirroring settings shared by a route's shadow and a Canary's shadow phase. */
const mirrorFields = {
  percent: percent()
    .default(100)
    .describe('Share of the requests answered by the route (not from the cache) that are mirrored, 0–100'),
  maxInflight: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(DEFAULT_SHADOW_MAX_INFLIGHT)
    .describe(
      'Most mirrored calls in flight per gateway process: requests beyond it are not mirrored, so the ' +
        'shadow can never double the load',
    ),
  compare: z
    .enum(SHADOW_COMPARE_MODES)
    .default('none')
    .describe(
      "How the shadow's answer is compared with the one the client got: exact (same message text), " +
        'normalised (case, white space and punctuation folded), format (both JSON or both not, same ' +
        'top-level keys, length within ±50%), none',
    ),
  timeout: duration().default('30s').describe('How long a mirrored call may take in all'),
};

/**
 * `ModelRoute.spec.shadow`, built on the route's backend schema (a parameter, so that this module needs
 * nothing of modelroute.ts at load time).
 */
export function shadowSpec(backend: typeof BackendSchema) {
  return withRules(
    z
      .object({
        backend: backend.describe(
          'The candidate the requests are mirrored to. It serves no client: its answers are measured and dropped',
        ),
        ...mirrorFields,
      })
      .strict(),
    [
      {
        rule: '!has(self.backend.spillOver)',
        message: 'shadow.backend.spillOver does not apply: a mirrored call is never moved to another backend',
        check: (s) => s.backend.spillOver === undefined,
        path: ['backend'],
      },
      {
        rule: '!has(self.backend.maxConcurrentRequests)',
        message:
          'shadow.backend.maxConcurrentRequests does not apply: bound mirrored calls with shadow.maxInflight',
        check: (s) => s.backend.maxConcurrentRequests === undefined,
        path: ['backend'],
      },
    ],
  );
}
export type ShadowSpec = z.infer<ReturnType<typeof shadowSpec>>;

/**
 * A route's compiled shadow, built on the compiled backend schema (a parameter, for the same reason as
 * `shadowSpec`): the backend without what only live traffic uses (variant, weight, bounds, spill-over).
 */
export function compiledShadowSchema(backend: typeof CompiledBackendSchema) {
  return z
    .object({
      backend: backend.omit({ variant: true, weight: true, spillOver: true, maxConcurrentRequests: true }),
      percent: percent(),
      maxInflight: z.number().int().min(1).max(10_000),
      compare: z.enum(SHADOW_COMPARE_MODES),
      timeoutMs: z.number().positive(),
    })
    .strict();
}

export type CompiledShadow = NonNullable<CompiledRoute['shadow']>;

/** What a Canary in its shadow phase mirrors to its candidate. */
export interface ShadowOverlay {
  candidate: Backend;
  percent: number;
  maxInflight: number;
  compare: ShadowCompareMode;
  timeoutMs: number;
}

const MirrorSettings = z.object(mirrorFields).strict();

/**
 * `Canary.spec.shadow`: before its first live step the candidate receives mirrored requests only (weight 0)
 * for `duration`, judged on the shadow's figures; pass → the first step, fail → rollback.
 */
export const CanaryShadow = withRules(
  z
    .object({
      duration: duration()
        .default('10m')
        .describe(
          'How long the candidate is mirrored to before it is judged (then every interval until it passes, ' +
            'fails, or analysis.progressDeadline runs out)',
        ),
      minRequests: z
        .number()
        .int()
        .min(1)
        .max(1_000_000)
        .default(50)
        .describe('Fewer mirrored calls over the phase make it inconclusive: the phase goes on'),
      maxErrorRate: z.number().min(0).max(1).optional().describe('Most failed mirrored calls, fraction 0–1'),
      maxLatencyP95: z
        .number()
        .min(0)
        .max(1_000_000)
        .optional()
        .describe("Highest p95 latency of the shadow's answers, milliseconds"),
      minAgreement: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe("Least share of the shadow's answers that agree with the client's under `compare`"),
      ...mirrorFields,
    })
    .strict(),
  [
    {
      rule: "!has(self.minAgreement) || self.compare != 'none'",
      message: 'shadow.minAgreement needs a compare mode: set shadow.compare to exact, normalised or format',
      check: (s) => s.minAgreement === undefined || s.compare !== 'none',
    },
    {
      rule: "duration(self.duration) >= duration('1s')",
      message: 'shadow.duration must be at least 1s',
      check: (s) => durationMs(s.duration) >= 1000,
      path: ['duration'],
    },
  ],
);
export type CanaryShadow = z.infer<typeof CanaryShadow>;

/** The shadow a Canary in its shadow phase puts on its route: its candidate, mirrored. */
export function shadowPhaseOverlay(canary: Canary): { shadow?: ShadowOverlay } {
  const { spec, status } = canary;
  const candidate = status?.candidateBackend;
  if (status?.phase !== 'Shadowing' || spec.shadow === undefined || candidate === undefined) return {};
  // The Canary as stored: its defaults are filled here (one the schema refuses mirrors nothing).
  const parsed = CanaryShadow.safeParse(spec.shadow);
  if (!parsed.success) return {};
  const m = parsed.data;
  return {
    shadow: {
      candidate: { ...candidate, name: spec.backend },
      percent: m.percent,
      maxInflight: m.maxInflight,
      compare: m.compare,
      timeoutMs: durationMs(m.timeout),
    },
  };
}

/**
 * The route's compiled shadow, as a spread: the canary's shadow phase when there is one (its candidate
 * replaces the route's own shadow while it runs), else the route's shadow, else nothing (so configs of
 * routes without one stay byte-identical). `compileBackend` compiles a backend spec of the route.
 */
export function compileShadow(
  spec: ShadowSpec | undefined,
  overlay: ShadowOverlay | undefined,
  compileBackend: (b: Backend) => CompiledBackend,
): { shadow?: CompiledShadow } {
  if (overlay !== undefined) {
    const { candidate, ...settings } = overlay;
    return { shadow: { backend: shadowBackend(compileBackend(candidate)), ...settings } };
  }
  if (spec === undefined) return {};
  const { backend, ...settings } = spec;
  const m = MirrorSettings.parse(settings);
  return {
    shadow: {
      backend: shadowBackend(compileBackend(backend)),
      percent: m.percent,
      maxInflight: m.maxInflight,
      compare: m.compare,
      timeoutMs: durationMs(m.timeout),
    },
  };
}

function shadowBackend(b: CompiledBackend): CompiledShadow['backend'] {
  const { variant: _v, weight: _w, spillOver: _s, maxConcurrentRequests: _m, ...rest } = b;
  return rest;
}

/** What the gateway exports of mirrored calls, beside the per-backend metrics it labels variant "shadow". */
export const SHADOW_METRICS = {
  /**
   * Mirrored calls by outcome (ok|4xx|5xx|429|timeout|connect-error|stream-error). Labels: namespace, route,
   * backend, variant ("shadow"), outcome. Their latency, tokens and cost are the upstream latency, tokens and
   * cost metrics with variant "shadow"; they never count as client requests.
   */
  requests: 'beastmode_shadow_requests_total',
  /**
   * Requests not mirrored although sampled. Labels: namespace, route, backend, variant, reason
   * (inflight-cap: maxInflight calls in flight; gateway-busy: the gateway above half its concurrency bound;
   * primary-failed: the client got no answer to compare with; compliance: the route's compliance policy
   * does not let the shadow backend receive the request).
   */
  dropped: 'beastmode_shadow_dropped_total',
  /** Shadow answers compared with the client's. Labels: namespace, route, backend, variant, mode. */
  compared: 'beastmode_shadow_compared_total',
  /** Compared answers that agreed (agreement rate: agreed / compared). Labels as compared. */
  agreed: 'beastmode_shadow_agreed_total',
} as const;

export const SHADOW_VARIANT = 'shadow';

export const SHADOW_DROP_REASONS = ['inflight-cap', 'gateway-busy', 'primary-failed', 'compliance'] as const;
export type ShadowDropReason = (typeof SHADOW_DROP_REASONS)[number];
