// The domain classifier: which of a fixed set of domains a prompt belongs to (code, math, law, …), for a
// route that sends a domain to a specialised backend and for the learning router's prompt clusters. The
// model is a multinomial logistic regression over the same hashed prompt features as the quality/cost
// router (router-model.ts), a versioned JSON file validated on load. A prompt whose best domain is not
// confident enough is `general-chat`. Pure: no clock, no I/O.
import { z } from 'zod';
import { PROMPT_DOMAINS, type PromptDomain } from '../../../api/v1alpha1/index.js';
import { DOMAINS_V1 } from './models/domains-v1.js';
import {
  FEATURE_FAMILIES,
  collectFeatures,
  featureBuckets,
  featureSet,
  featureValues,
  type FeatureSet,
} from './router-features.js';

export const DOMAINS = PROMPT_DOMAINS;
export type Domain = PromptDomain;
/** What a prompt no domain is confident about counts as. */
export const FALLBACK_DOMAIN: Domain = 'general-chat';

export const DOMAIN_MODEL_KIND = 'beastmode.dev/domain-classifier';

export const DomainModelFile = z
  .object({
    kind: z.literal(DOMAIN_MODEL_KIND),
    version: z.string().min(1).max(64),
    buckets: z
      .number()
      .int()
      .min(256)
      .max(1 << 20)
      .refine((n) => (n & (n - 1)) === 0, 'buckets must be a power of two'),
    families: z.array(z.enum(FEATURE_FAMILIES)).min(1).max(4),
    domains: z.array(z.enum(DOMAINS)).min(2),
    bias: z.array(z.number()),
    /** The weights, bucket × domain row-major, as signed bytes in base64; a weight is byte × scale. */
    weights: z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'weights must be base64'),
    scale: z.number().positive(),
    /** The prompt's first characters read: its domain shows early, and a long prompt costs no more. */
    maxChars: z.number().int().min(16).max(2000),
    /** Below this probability of the best domain, the prompt is FALLBACK_DOMAIN. */
    minConfidence: z.number().min(0).max(1),
    trainedOn: z.string().max(512).optional(),
  })
  .strict()
  .refine((m) => m.bias.length === m.domains.length, 'one bias per domain')
  .refine(
    (m) => Buffer.from(m.weights, 'base64').length === m.buckets * m.domains.length,
    'weights must hold buckets × domains bytes',
  );
export type DomainModelFile = z.infer<typeof DomainModelFile>;

export interface DomainModel {
  version: string;
  domains: readonly Domain[];
  families: FeatureSet;
  mask: number;
  bias: Float64Array;
  /** bucket × domain, row-major. */
  weights: Float32Array;
  minConfidence: number;
  maxChars: number;
}

export function loadDomainModel(json: unknown): DomainModel {
  const parsed = DomainModelFile.safeParse(json);
  if (!parsed.success) throw new Error(`not a domain model: ${z.prettifyError(parsed.error)}`);
  const m = parsed.data;
  const bytes = Buffer.from(m.weights, 'base64');
  const weights = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) weights[i] = bytes.readInt8(i) * m.scale;
  return {
    version: m.version,
    domains: m.domains,
    families: featureSet(m.families),
    mask: m.buckets - 1,
    bias: Float64Array.from(m.bias),
    weights,
    minConfidence: m.minConfidence,
    maxChars: m.maxChars,
  };
}

export interface DomainGuess {
  domain: Domain;
  /** The probability of the best domain. */
  confidence: number;
}

/** The domain probabilities of a prompt, in the model's domain order. */
export function domainProbabilities(model: DomainModel, prompt: string): Float64Array {
  const k = model.domains.length;
  const z = Float64Array.from(model.bias);
  const w = model.weights;
  const n = collectFeatures(prompt, model.mask, model.families, model.maxChars);
  if (k === 11) addFeatures11(z, w, n);
  else
    for (let f = 0; f < n; f++) {
      const base = (featureBuckets[f] as number) * k;
      const v = featureValues[f] as number;
      for (let d = 0; d < k; d++) z[d] = (z[d] as number) + (w[base + d] as number) * v;
    }
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let sum = 0;
  for (let d = 0; d < k; d++) {
    z[d] = Math.exp((z[d] as number) - max);
    sum += z[d] as number;
  }
  for (let d = 0; d < k; d++) z[d] = (z[d] as number) / sum;
  return z;
}

/**
 * z[d] += w[bucket × 11 + d] × value over the n collected features, for a model of 11 domains (the bundled
 * one): the sums kept in locals rather than in z, which halves the classifier's time, each still adding the
 * same terms in the same order (the same probabilities to the bit).
 */
function addFeatures11(z: Float64Array, w: Float32Array, n: number): void {
  let z0 = z[0] as number;
  let z1 = z[1] as number;
  let z2 = z[2] as number;
  let z3 = z[3] as number;
  let z4 = z[4] as number;
  let z5 = z[5] as number;
  let z6 = z[6] as number;
  let z7 = z[7] as number;
  let z8 = z[8] as number;
  let z9 = z[9] as number;
  let z10 = z[10] as number;
  for (let f = 0; f < n; f++) {
    const base = (featureBuckets[f] as number) * 11;
    const v = featureValues[f] as number;
    z0 += (w[base] as number) * v;
    z1 += (w[base + 1] as number) * v;
    z2 += (w[base + 2] as number) * v;
    z3 += (w[base + 3] as number) * v;
    z4 += (w[base + 4] as number) * v;
    z5 += (w[base + 5] as number) * v;
    z6 += (w[base + 6] as number) * v;
    z7 += (w[base + 7] as number) * v;
    z8 += (w[base + 8] as number) * v;
    z9 += (w[base + 9] as number) * v;
    z10 += (w[base + 10] as number) * v;
  }
  z.set([z0, z1, z2, z3, z4, z5, z6, z7, z8, z9, z10]);
}

export function classifyDomain(model: DomainModel, prompt: string): DomainGuess {
  const p = domainProbabilities(model, prompt);
  let best = 0;
  for (let d = 1; d < p.length; d++) if ((p[d] as number) > (p[best] as number)) best = d;
  const confidence = p[best] as number;
  const domain = model.domains[best] as Domain;
  return confidence < model.minConfidence ? { domain: FALLBACK_DOMAIN, confidence } : { domain, confidence };
}

let bundled: DomainModel | undefined;

/** The classifier shipped with the gateway (models/domains-v1.ts), parsed on first use. */
export function bundledDomainModel(): DomainModel {
  bundled ??= loadDomainModel(JSON.parse(DOMAINS_V1) as unknown);
  return bundled;
}
