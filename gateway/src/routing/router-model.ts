// The learned quality/cost router: from a prompt alone, the probability that the weak backend answers it as
// well as needed. Features are hashed and sparse (router-features.ts), the model a logistic regression, and the
// threshold comes from the quality the route asks for, read off the calibration curve the model carries
// (computed at training on subjects held out of the fit). The model is a versioned JSON file, validated on
// load. Pure: no clock, no I/O.
import { z } from 'zod';
import { QUALITY_COST_V1 } from './models/quality-cost-v1.js';
import { FEATURE_FAMILIES, featureScore, featureSet, type FeatureSet } from './router-features.js';

export const ROUTER_MODEL_KIND = 'beastmode.dev/quality-cost-router';

/**
 * Quality kept (router accuracy / strong accuracy) → the lowest probability still routed to the weak backend,
 * from the calibration subjects; ascending quality.
 */
export const CalibrationPoints = z
  .array(z.object({ quality: z.number().min(0).max(1.5), threshold: z.number().min(0).max(1) }).strict())
  .min(1);

export const RouterModelFile = z
  .object({
    kind: z.literal(ROUTER_MODEL_KIND),
    version: z.string().min(1).max(64),
    /** Hash buckets of the sparse features (a power of two). */
    buckets: z
      .number()
      .int()
      .min(256)
      .max(1 << 22)
      .refine((n) => (n & (n - 1)) === 0, 'buckets must be a power of two'),
    /** The feature families the model reads (see routerFeatures). */
    families: z.array(z.enum(FEATURE_FAMILIES)).min(1).max(4),
    bias: z.number(),
    /** Non-zero weights as [bucket, weight] pairs. */
    weights: z.array(z.tuple([z.number().int().min(0), z.number()])).max(1 << 22),
    calibration: CalibrationPoints,
    trainedOn: z.string().max(512).optional(),
  })
  .strict()
  .refine((m) => m.weights.every(([i]) => i < m.buckets), 'a weight names a bucket beyond buckets');
export type RouterModelFile = z.infer<typeof RouterModelFile>;

/** A model ready to score: weights in a dense array. */
export interface RouterModel {
  version: string;
  families: FeatureSet;
  mask: number;
  bias: number;
  weights: Float32Array;
  calibration: readonly { quality: number; threshold: number }[];
  thresholds: Map<number, number>;
}

/** Validates a model file; throws with the reason when it is not one. */
export function loadRouterModel(json: unknown): RouterModel {
  const parsed = RouterModelFile.safeParse(json);
  if (!parsed.success) throw new Error(`not a router model: ${z.prettifyError(parsed.error)}`);
  const m = parsed.data;
  const weights = new Float32Array(m.buckets);
  for (const [i, w] of m.weights) weights[i] = w;
  const calibration = [...m.calibration].sort((a, b) => a.quality - b.quality);
  return {
    version: m.version,
    families: featureSet(m.families),
    mask: m.buckets - 1,
    bias: m.bias,
    weights,
    calibration,
    thresholds: new Map(),
  };
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** The probability that the weak backend answers the prompt well enough. */
export function weakSuffices(model: RouterModel, prompt: string): number {
  return sigmoid(featureScore(model, prompt));
}

/**
 * The threshold that keeps at least `quality` of the strong backend's quality on the calibration subjects:
 * the lowest threshold whose measured quality reaches it (1, everything to the strong backend, when none
 * does). Memoised per quality: a route asks for the same one on every request.
 */
export function thresholdFor(
  model: Pick<RouterModel, 'calibration' | 'thresholds'>,
  quality: number,
): number {
  let t = model.thresholds.get(quality);
  if (t === undefined) {
    t = 1;
    for (const c of model.calibration) if (c.quality >= quality && c.threshold < t) t = c.threshold;
    model.thresholds.set(quality, t);
  }
  return t;
}

/** A prompt's p(weak) against the threshold for `quality`, and the words that say so. */
export function routerScore(
  model: RouterModel,
  prompt: string,
  quality: number,
): { p: number; threshold: number; why: string } {
  const p = weakSuffices(model, prompt);
  const threshold = thresholdFor(model, quality);
  return { p, threshold, why: `router ${model.version} p(weak) ${p.toFixed(2)} vs ${threshold.toFixed(2)}` };
}

let bundled: RouterModel | undefined;

/**
 * The model shipped with the gateway (models/quality-cost-v1.ts), parsed and validated on first use (about
 * 20 ms, once per process; the gateway asks for it when a config with a route that uses it is applied).
 */
export function bundledRouterModel(): RouterModel {
  bundled ??= loadRouterModel(JSON.parse(QUALITY_COST_V1) as unknown);
  return bundled;
}

/**
 * Edges that split the static router's scores into `bands` bands of similar traffic — quantiles of the
 * calibration thresholds, which the training takes at every 2% of the calibration rows' scores — plus the
 * static router's own threshold for `quality`, so that the static router sends each band all one way (the
 * outcomes of a band are then not skewed toward its easier or harder prompts).
 */
export function bandEdgesOf(model: RouterModel, bands: number, quality: number): number[] {
  const t = model.calibration.map((c) => c.threshold).sort((a, b) => a - b);
  const edges = [thresholdFor(model, quality)];
  for (let k = 1; k < bands; k++) edges.push(t[Math.floor((k * t.length) / bands)] ?? 1);
  return [...new Set(edges)].sort((a, b) => a - b);
}
