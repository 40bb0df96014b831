// Canary: progressive, metric-gated rollout of a change to one backend of a ModelRoute, with automatic
// rollback. GitOps flow: a change to the backend's spec in the route becomes the candidate. Explicit flow:
// spec.candidate names the backend spec to roll out.
import { z } from 'zod';
import { Backend } from './modelroute.js';
import { CanaryShadow } from './shadow.js';
import {
  LocalObjectReference,
  dnsLabel,
  duration,
  durationMs,
  percent,
  resource,
  statusBase,
  withRules,
} from './common.js';

export const CANARY_METRICS = [
  'error-rate',
  'latency-p95',
  'ttft-p95',
  'cost-per-request',
  'feedback-score',
] as const;
export const CanaryMetricName = z.enum(CANARY_METRICS);
export type CanaryMetricName = z.infer<typeof CanaryMetricName>;

export const CanaryMetric = withRules(
  z
    .object({
      name: CanaryMetricName.describe(
        'error-rate: fraction 0–1; latency-p95 and ttft-p95: milliseconds; cost-per-request: USD; feedback-score: mean score 0–1',
      ),
      max: z.number().min(0).max(1_000_000).optional(),
      min: z.number().min(0).max(1_000_000).optional(),
    })
    .strict(),
  [
    {
      rule: "self.name == 'feedback-score' ? has(self.min) && !has(self.max) : has(self.max) && !has(self.min)",
      message: 'feedback-score takes a min bound; every other metric takes a max bound',
      check: (m) =>
        m.name === 'feedback-score'
          ? m.min !== undefined && m.max === undefined
          : m.max !== undefined && m.min === undefined,
    },
    {
      rule: "self.name != 'error-rate' || self.max <= 1.0",
      message: 'error-rate max is a fraction between 0 and 1',
      check: (m) => m.name !== 'error-rate' || (m.max ?? 0) <= 1,
    },
  ],
);
export type CanaryMetric = z.infer<typeof CanaryMetric>;

const queryTemplate = () => z.string().min(1).max(2048);

export const MetricProvider = withRules(
  z
    .object({
      type: z.enum(['gateway', 'prometheus']).default('gateway'),
      prometheus: z
        .object({
          address: z
            .string()
            .max(2048)
            .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL'),
          queries: z
            .object({
              requests: queryTemplate().optional(),
              errorRate: queryTemplate().optional(),
              latencyP95: queryTemplate().optional(),
              ttftP95: queryTemplate().optional(),
              costPerRequest: queryTemplate().optional(),
              feedbackScore: queryTemplate().optional(),
            })
            .strict()
            .optional()
            .describe(
              'PromQL templates; {{route}}, {{namespace}}, {{backend}}, {{variant}}, {{interval}} are filled in',
            ),
        })
        .strict()
        .optional(),
    })
    .strict(),
  [
    {
      rule: "self.type == 'prometheus' ? has(self.prometheus) : !has(self.prometheus)",
      message: 'prometheus settings are required with type prometheus, and only then',
      check: (p) => (p.type === 'prometheus') === (p.prometheus !== undefined),
    },
  ],
);
export type MetricProvider = z.infer<typeof MetricProvider>;

export const Analysis = z
  .object({
    minRequests: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(50)
      .describe('Fewer canary requests in a window make it inconclusive: the step holds'),
    failureThreshold: z.number().int().min(1).max(100).default(2).describe('Failed windows before rollback'),
    progressDeadline: duration()
      .default('10m')
      .describe('How long a step may stay inconclusive before onProgressDeadline applies'),
    onProgressDeadline: z.enum(['pause', 'rollback']).default('pause'),
    metrics: z.array(CanaryMetric).min(1).max(8),
    provider: MetricProvider.optional(),
  })
  .strict();

export const CohortMatch = withRules(
  z
    .object({
      headers: z.record(z.string().min(1).max(128), z.string().max(256)).optional(),
      apiKeys: z.array(z.string().min(1).max(128)).max(64).optional(),
      teams: z.array(z.string().min(1).max(128)).max(64).optional(),
    })
    .strict(),
  [
    {
      rule: 'has(self.headers) || has(self.apiKeys) || has(self.teams)',
      message: 'a match needs headers, apiKeys or teams',
      check: (m) => m.headers !== undefined || m.apiKeys !== undefined || m.teams !== undefined,
    },
  ],
);

export const CanarySpec = withRules(
  z
    .object({
      routeRef: LocalObjectReference.describe('The ModelRoute in this namespace'),
      backend: dnsLabel().describe('The route backend whose changes are rolled out progressively'),
      candidate: Backend.optional().describe(
        'Explicit flow: the backend spec to roll out against the current one; omit for the GitOps flow',
      ),
      steps: z
        .array(z.number().int().min(1).max(100))
        .min(1)
        .max(20)
        .default([1, 5, 25, 50, 100])
        .describe('Percent of the backend traffic sent to the candidate, step by step'),
      interval: duration().default('30s').describe('Analysis window and minimum time per step'),
      analysis: Analysis,
      match: z
        .array(CohortMatch)
        .max(8)
        .optional()
        .describe('Only these cohorts see the candidate; sticky by user'),
      promotion: z
        .object({
          mode: z.enum(['auto', 'manual']).default('auto'),
          approvedRevision: z
            .string()
            .max(64)
            .optional()
            .describe(
              'Manual mode: promote when this equals status.candidateRevision (set from Git or the CLI)',
            ),
        })
        .strict()
        .optional(),
      abort: z.boolean().default(false).describe('Roll back now and start nothing new while true'),
      shadow: CanaryShadow.optional().describe('Mirror requests to the candidate before its first live step'),
    })
    .strict(),
  [
    {
      rule: 'self.steps[size(self.steps) - 1] == 100',
      message: 'steps must end at 100',
      check: (s) => s.steps.at(-1) === 100,
      path: ['steps'],
    },
    {
      rule: 'self.steps.isSorted() && self.steps.all(x, self.steps.exists_one(y, y == x))',
      message: 'steps must be strictly increasing',
      check: (s) => s.steps.every((x, i) => i === 0 || x > (s.steps[i - 1] ?? 0)),
      path: ['steps'],
    },
    {
      rule: "duration(self.interval) >= duration('1s')",
      message: 'interval must be at least 1s',
      check: (s) => durationMs(s.interval) >= 1000,
      path: ['interval'],
    },
    {
      rule: '!has(self.candidate) || self.candidate.name == self.backend',
      message: 'candidate.name must equal backend',
      check: (s) => s.candidate === undefined || s.candidate.name === s.backend,
      path: ['candidate', 'name'],
    },
  ],
);
export type CanarySpec = z.infer<typeof CanarySpec>;

export const CANARY_PHASES = [
  'Initializing',
  'Idle',
  'Shadowing',
  'Progressing',
  'Paused',
  'Promoting',
  'Succeeded',
  'RolledBack',
] as const;
export const CanaryPhase = z.enum(CANARY_PHASES);
export type CanaryPhase = z.infer<typeof CanaryPhase>;

export const VariantFigures = z
  .object({
    requests: z.number().int().min(0),
    errorRate: z.number().min(0).optional(),
    latencyP95Ms: z.number().min(0).optional(),
    ttftP95Ms: z.number().min(0).optional(),
    costPerRequest: z.number().min(0).optional(),
    feedbackScore: z.number().min(0).optional(),
    agreement: z.number().min(0).max(1).optional().describe("Shadow answers agreeing with the client's"),
  })
  .strict();
export type VariantFigures = z.infer<typeof VariantFigures>;

export const CanaryStatus = z
  .object({
    ...statusBase,
    phase: CanaryPhase.optional(),
    canaryWeight: percent().optional(),
    currentStep: z.number().int().min(0).max(20).optional().describe('Index into spec.steps'),
    stableBackend: Backend.optional().describe('The last promoted spec of the backend, served as stable'),
    stableRevision: z.string().max(64).optional(),
    candidateBackend: Backend.optional(),
    candidateRevision: z.string().max(64).optional(),
    rolledBackRevision: z.string().max(64).optional().describe('A rolled-back candidate is not retried'),
    stepStartedAt: z.string().max(64).optional(),
    lastAnalysisAt: z.string().max(64).optional(),
    failedWindows: z.number().int().min(0).optional(),
    inconclusiveWindows: z.number().int().min(0).optional(),
    lastAnalysis: z
      .object({
        verdict: z.enum(['passed', 'failed', 'inconclusive']),
        stable: VariantFigures.optional(),
        canary: VariantFigures.optional(),
        shadow: VariantFigures.optional().describe("The candidate's mirrored calls, in the shadow phase"),
        failures: z.array(z.string().max(512)).max(8).optional(),
      })
      .strict()
      .optional(),
    message: z.string().max(1024).optional(),
  })
  .strict();
export type CanaryStatus = z.infer<typeof CanaryStatus>;

export const Canary = resource('Canary', CanarySpec, CanaryStatus);
export type Canary = z.infer<typeof Canary>;
