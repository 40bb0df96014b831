// Experiment: an A/B (or A/B/n) test between variants of one ModelRoute — backends, models behind them, or
// request templates such as a system prompt or a temperature — decided by an always-valid sequential test
// (docs/experiments.md). Subjects are assigned sticky by weighted rendezvous hashing, the split is fixed or
// adapted by Thompson sampling with a floor, and the verdict (winner, no difference, guardrail breach) lands
// in status and Events; a winner can be promoted so that the route serves it to everyone.
import { z } from 'zod';
import {
  LocalObjectReference,
  dnsLabel,
  duration,
  durationMs,
  resource,
  statusBase,
  withRules,
} from './common.js';

/**
 * What an experiment can measure per request, with its kind and direction:
 * feedback-score (mean of feedback scores 0–1, higher is better), task-success (share of feedback scores
 * ≥ 0.75 or marked success, higher), cost-per-request (USD, lower), latency-ms (whole request, lower),
 * ttft-ms (time to first token of streams, lower), error-rate (share of 5xx/timeouts, lower).
 */
export const EXPERIMENT_METRICS = [
  'feedback-score',
  'task-success',
  'cost-per-request',
  'latency-ms',
  'ttft-ms',
  'error-rate',
] as const;
export const ExperimentMetricName = z.enum(EXPERIMENT_METRICS);
export type ExperimentMetricName = z.infer<typeof ExperimentMetricName>;

/** How each metric is tested: a mean or a proportion, and which way is better. */
export const EXPERIMENT_METRIC_INFO: Record<
  ExperimentMetricName,
  { kind: 'mean' | 'proportion'; direction: 'higher-is-better' | 'lower-is-better' }
> = {
  'feedback-score': { kind: 'mean', direction: 'higher-is-better' },
  'task-success': { kind: 'proportion', direction: 'higher-is-better' },
  'cost-per-request': { kind: 'mean', direction: 'lower-is-better' },
  'latency-ms': { kind: 'mean', direction: 'lower-is-better' },
  'ttft-ms': { kind: 'mean', direction: 'lower-is-better' },
  'error-rate': { kind: 'proportion', direction: 'lower-is-better' },
};

export const RequestTemplate = z
  .object({
    systemPrompt: z
      .string()
      .min(1)
      .max(8192)
      .optional()
      .describe('Replaces the system message of chat requests (added first when the request has none)'),
    temperature: z.number().min(0).max(2).optional().describe('Overrides the request temperature'),
    maxTokens: z.number().int().min(1).max(1_000_000).optional().describe('Caps max_tokens'),
  })
  .strict();
export type RequestTemplate = z.infer<typeof RequestTemplate>;

export const ExperimentVariant = z
  .object({
    name: dnsLabel().describe('Variant name: the `variant` label of its metrics'),
    backend: dnsLabel().describe('The route backend that serves this variant'),
    weight: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(1)
      .describe('Share of subjects with a fixed split (relative); the starting split with thompson'),
    template: RequestTemplate.optional(),
  })
  .strict();
export type ExperimentVariant = z.infer<typeof ExperimentVariant>;

export const PrimaryMetricSpec = withRules(
  z
    .object({
      metric: ExperimentMetricName,
      minimumDetectableEffect: z
        .number()
        .positive()
        .max(1_000_000)
        .describe('Smallest absolute difference worth detecting, in the metric unit (fraction for rates)'),
      minimumEffect: z
        .number()
        .min(0)
        .max(1_000_000)
        .default(0)
        .describe('A winner must beat the control by at least this much (lower confidence bound)'),
      standardDeviation: z
        .number()
        .positive()
        .max(1_000_000)
        .optional()
        .describe('Expected standard deviation of a mean metric, for the planned sample size only'),
      baseline: z
        .number()
        .min(0)
        .max(1)
        .optional()
        .describe('Expected control rate of a proportion metric, for the planned sample size only'),
    })
    .strict(),
  [
    {
      rule: "!(self.metric in ['task-success', 'error-rate']) || self.minimumDetectableEffect < 1.0",
      message: 'the minimum detectable effect of a rate is a fraction below 1',
      check: (m) => !['task-success', 'error-rate'].includes(m.metric) || m.minimumDetectableEffect < 1,
    },
  ],
);

export const GuardrailSpec = withRules(
  z
    .object({
      metric: ExperimentMetricName,
      tolerance: z
        .number()
        .min(0)
        .max(1_000_000)
        .describe('How much worse than the control is still acceptable, in the metric unit'),
      minimumDetectableEffect: z
        .number()
        .positive()
        .max(1_000_000)
        .optional()
        .describe('Degradation beyond the tolerance that must be caught (default: the tolerance, or 0.01)'),
    })
    .strict(),
  [
    {
      rule: "!(self.metric in ['task-success', 'error-rate']) || self.tolerance < 1.0",
      message: 'the tolerance of a rate is a fraction below 1',
      check: (g) => !['task-success', 'error-rate'].includes(g.metric) || g.tolerance < 1,
    },
  ],
);

export const ExperimentSpec = withRules(
  z
    .object({
      routeRef: LocalObjectReference.describe('The ModelRoute in this namespace whose traffic is split'),
      variants: z
        .array(ExperimentVariant)
        .min(2)
        .max(8)
        .describe('The first variant is the control; every other is compared with it'),
      subject: z
        .enum(['user', 'api-key', 'request'])
        .default('user')
        .describe(
          'Sticky assignment key: the user (x-user-id header or "user" field, else the API key), the API key, or none',
        ),
      allocation: z
        .object({
          mode: z.enum(['fixed', 'thompson']).default('fixed'),
          floor: z
            .number()
            .min(0)
            .max(0.5)
            .default(0.1)
            .describe('Thompson: the least share of subjects any variant keeps'),
        })
        .strict()
        .default({ mode: 'fixed', floor: 0.1 }),
      primary: PrimaryMetricSpec,
      guardrails: z.array(GuardrailSpec).max(6).default([]),
      alpha: z.number().min(0.001).max(0.2).default(0.05).describe('Family-wise false-positive rate'),
      guardrailAlpha: z.number().min(0.001).max(0.2).default(0.05),
      power: z.number().min(0.5).max(0.99).default(0.8),
      minSamplesPerVariant: z.number().int().min(10).max(10_000_000).default(100),
      maxSamplesPerVariant: z
        .number()
        .int()
        .min(10)
        .max(100_000_000)
        .optional()
        .describe('Stop with no difference beyond this (default: the planned sample size)'),
      maxDuration: duration().default('168h').describe('Stop with no difference after this long'),
      interval: duration().default('1m').describe('How often results are read and the split updated'),
      promotion: z
        .enum(['auto', 'manual', 'none'])
        .default('manual')
        .describe(
          'auto: the route serves the winner to everyone; manual: set spec.promote to the winner; none: report only',
        ),
      promote: dnsLabel()
        .optional()
        .describe('Manual promotion: the variant to serve to everyone (must equal status.winner)'),
      abort: z.boolean().default(false).describe('Stop now: every subject goes back to the route as written'),
    })
    .strict(),
  [
    {
      rule: 'self.variants.all(v, self.variants.exists_one(w, w.name == v.name))',
      message: 'variant names must be unique',
      check: (s) => new Set(s.variants.map((v) => v.name)).size === s.variants.length,
      path: ['variants'],
    },
    {
      rule: 'self.variants.exists(v, v.weight > 0)',
      message: 'at least one variant needs a weight above 0',
      check: (s) => s.variants.some((v) => v.weight > 0),
      path: ['variants'],
    },
    {
      rule: "duration(self.interval) >= duration('5s')",
      message: 'interval must be at least 5s',
      check: (s) => durationMs(s.interval) >= 5000,
      path: ['interval'],
    },
    {
      rule: '!has(self.maxSamplesPerVariant) || self.maxSamplesPerVariant >= self.minSamplesPerVariant',
      message: 'maxSamplesPerVariant must be at least minSamplesPerVariant',
      check: (s) => s.maxSamplesPerVariant === undefined || s.maxSamplesPerVariant >= s.minSamplesPerVariant,
      path: ['maxSamplesPerVariant'],
    },
    {
      rule: '!has(self.promote) || self.variants.exists(v, v.name == self.promote)',
      message: 'promote must name a variant',
      check: (s) => s.promote === undefined || s.variants.some((v) => v.name === s.promote),
      path: ['promote'],
    },
  ],
);
export type ExperimentSpec = z.infer<typeof ExperimentSpec>;

export const EXPERIMENT_PHASES = ['Pending', 'Running', 'Concluded', 'Promoted', 'Aborted'] as const;
export const ExperimentPhase = z.enum(EXPERIMENT_PHASES);
export type ExperimentPhase = z.infer<typeof ExperimentPhase>;

/** Cumulative sufficient statistics of one metric: count, sum and sum of squares. */
export const MomentsStatus = z
  .object({ count: z.number().min(0), sum: z.number(), sumSquares: z.number().min(0) })
  .strict();

export const ExperimentVariantStatus = z
  .object({
    name: dnsLabel(),
    weight: z.number().min(0).max(1).describe('Current share of subjects (0–1)'),
    moments: z
      .record(z.string().max(32), MomentsStatus)
      .optional()
      .describe('Cumulative per-metric moments since the experiment started'),
    mean: z.record(z.string().max(32), z.number()).optional().describe('Per-metric mean'),
  })
  .strict();

export const ExperimentComparisonStatus = z
  .object({
    variant: dnsLabel(),
    standing: z.enum(['collecting', 'undecided', 'better', 'worse', 'equivalent']),
    improvement: z.number().optional().describe('Estimated improvement over the control (good direction)'),
    lower: z.number().optional().describe('Lower bound of the always-valid confidence sequence'),
    upper: z.number().optional(),
    pValue: z.number().min(0).max(1).optional().describe('Always-valid p-value'),
    breaches: z.array(z.string().max(512)).max(8).optional(),
  })
  .strict();

export const ExperimentStatus = z
  .object({
    ...statusBase,
    phase: ExperimentPhase.optional(),
    startedAt: z.string().max(64).optional(),
    lastTickAt: z.string().max(64).optional(),
    specHash: z
      .string()
      .max(64)
      .optional()
      .describe('Hash of the variants and metrics the moments belong to; a change restarts the experiment'),
    plannedSamplesPerVariant: z.number().int().min(0).optional(),
    variants: z.array(ExperimentVariantStatus).max(8).optional(),
    comparisons: z.array(ExperimentComparisonStatus).max(8).optional(),
    verdict: z.enum(['continue', 'winner', 'no-difference', 'guardrail-breach']).optional(),
    winner: dnsLabel().optional(),
    promotedVariant: dnsLabel().optional(),
    reasons: z.array(z.string().max(512)).max(16).optional(),
    decidedAt: z.string().max(64).optional(),
    message: z.string().max(1024).optional(),
  })
  .strict();
export type ExperimentStatus = z.infer<typeof ExperimentStatus>;

export const Experiment = resource('Experiment', ExperimentSpec, ExperimentStatus);
export type Experiment = z.infer<typeof Experiment>;

/**
 * The per-request metrics a gateway exports for experiments, as counters labelled namespace, route,
 * experiment, variant and metric (one of EXPERIMENT_METRICS): exact sufficient statistics, summed over
 * gateway pods by the controller.
 */
export const EXPERIMENT_SERIES = {
  observations: 'beastmode_experiment_observations_total',
  sum: 'beastmode_experiment_value_sum',
  sumSquares: 'beastmode_experiment_value_squares_sum',
} as const;
