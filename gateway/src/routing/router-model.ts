// The learned quality/cost router: from a prompt alone, the probability that the weak backend answers it as
// well as needed. Features are hashed and sparse (word unigrams and bigrams, character trigrams, and a few
// structure cues: length, digits, formulas, code, answer options), the model a logistic regression, and the
// threshold comes from the quality the route asks for, read off the calibration curve the model carries
// (computed at training on subjects held out of the fit). The model is a versioned JSON file, validated on
// load. Pure: no clock, no I/O.
import { z } from 'zod';
import { QUALITY_COST_V1 } from './models/quality-cost-v1.js';

export const ROUTER_MODEL_KIND = 'beastmode.dev/quality-cost-router';
export const FEATURE_FAMILIES = ['words', 'bigrams', 'trigrams', 'cues'] as const;
export type FeatureFamily = (typeof FEATURE_FAMILIES)[number];

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
    /**
     * Quality kept (router accuracy / strong accuracy) → the lowest probability still routed to the weak
     * backend, from the calibration subjects; ascending quality.
     */
    calibration: z
      .array(z.object({ quality: z.number().min(0).max(1.5), threshold: z.number().min(0).max(1) }).strict())
      .min(1),
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

/** FNV-1a, 32 bits, over a string's UTF-16 code units; `seed` separates feature families. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** hash(text.slice(i, i + 3), 3) without the slice: the request path scores thousands of trigrams. */
function trigramHash(text: string, i: number): number {
  let h = (0x811c9dc5 ^ 3) >>> 0;
  h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  h = Math.imul(h ^ text.charCodeAt(i + 1), 0x01000193) >>> 0;
  return Math.imul(h ^ text.charCodeAt(i + 2), 0x01000193) >>> 0;
}

/** Longest prompt text read: beyond it the features only get slower, not better. */
const MAX_CHARS = 2000;
const FNV_PRIME = 0x01000193;
const step = (h: number, c: number): number => Math.imul(h ^ c, FNV_PRIME) >>> 0;
const WORD_SEED = (0x811c9dc5 ^ 1) >>> 0;
const BIGRAM_SEED = (0x811c9dc5 ^ 2) >>> 0;

/** JavaScript's \s (what the tokens are separated by). */
const isSpace = (c: number): boolean =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  c === 0xa0 ||
  c === 0x1680 ||
  (c >= 0x2000 && c <= 0x200a) ||
  c === 0x2028 ||
  c === 0x2029 ||
  c === 0x202f ||
  c === 0x205f ||
  c === 0x3000 ||
  c === 0xfeff;
const isWordChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);

/** The tokens' hashes of the last scan (the request path allocates no strings for them). */
const wordHashes = new Uint32Array(MAX_CHARS);
const bigramHashes = new Uint32Array(MAX_CHARS);

/**
 * Tokens of the lower-cased text — runs of [a-z0-9], or single characters that are neither those nor space
 * — as hash(token, 1) in wordHashes and hash(`${previous} ${token}`, 2) in bigramHashes (from the second
 * token), computed as the characters go by. Returns the number of tokens.
 */
function scanTokens(text: string): number {
  let n = 0;
  let prevBigram = 0; // hash(previous token, 2), the start of the next bigram's
  let i = 0;
  while (i < text.length) {
    let c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    let word = WORD_SEED;
    let asPrefix = BIGRAM_SEED;
    let bigram = n > 0 ? step(prevBigram, 32) : 0;
    do {
      word = step(word, c);
      asPrefix = step(asPrefix, c);
      bigram = step(bigram, c);
      i++;
      if (!isWordChar(c)) break; // a single-character token
      c = i < text.length ? text.charCodeAt(i) : 32;
    } while (isWordChar(c));
    wordHashes[n] = word;
    bigramHashes[n] = bigram;
    prevBigram = asPrefix;
    n++;
  }
  return n;
}

/** The cue features of the lower-cased text: each a fixed bucket name, a value in [0, 1]. */
function cues(text: string, words: number): [string, number][] {
  let digits = 0;
  let lines = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 10) lines++;
  }
  return [
    ['cue:bias', 1],
    ['cue:length', Math.min(1, text.length / 2000)],
    ['cue:words', Math.min(1, words / 400)],
    ['cue:digits', Math.min(1, (digits / Math.max(1, text.length)) * 10)],
    ['cue:formula', /[=+\-*/^]\s*\d|\d\s*[=+*/^]|\\frac|\\sqrt|\$/.test(text) ? 1 : 0],
    ['cue:code', /```|\bdef\b|\bfunction\b|;\s*$|\{\s*$/m.test(text) ? 1 : 0],
    ['cue:options', /^\s*[a-d][.)]\s/m.test(text) ? 1 : 0], // the text is lower-cased
    ['cue:question', text.includes('?') ? 1 : 0],
    ['cue:lines', Math.min(1, lines / 30)],
  ];
}

export interface FeatureSet {
  words: boolean;
  bigrams: boolean;
  trigrams: boolean;
  cues: boolean;
}

export const featureSet = (families: readonly FeatureFamily[]): FeatureSet => ({
  words: families.includes('words'),
  bigrams: families.includes('bigrams'),
  trigrams: families.includes('trigrams'),
  cues: families.includes('cues'),
});

/** The sparse features of a prompt: bucket → value, the values of one family scaled to unit length. */
export function routerFeatures(
  prompt: string,
  mask: number,
  f: FeatureSet,
  maxChars?: number,
): Map<number, number> {
  const out = new Map<number, number>();
  visitFeatures(prompt, mask, f, (bucket, v) => out.set(bucket, (out.get(bucket) ?? 0) + v), maxChars);
  return out;
}

/** The features of the last collectFeatures call: buckets and values, `count` of each. */
const MAX_FEATURES = MAX_CHARS * 2 + 16;
export const featureBuckets = new Uint32Array(MAX_FEATURES);
export const featureValues = new Float64Array(MAX_FEATURES);

/**
 * Collects the prompt's features into featureBuckets/featureValues (a bucket may come more than once) and
 * returns their count: the request path scores typed arrays, with no callback or allocation per feature.
 * The arrays are overwritten by the next call.
 */
export function collectFeatures(prompt: string, mask: number, f: FeatureSet, maxChars = MAX_CHARS): number {
  const limit = Math.min(maxChars, MAX_CHARS);
  const text = (prompt.length > limit ? prompt.slice(0, limit) : prompt).toLowerCase();
  const words = scanTokens(text);
  let n = 0;
  if (f.words || f.bigrams) {
    const wordScale = 1 / Math.sqrt(Math.max(1, words));
    for (let k = 0; k < words; k++) {
      if (f.words) {
        featureBuckets[n] = (wordHashes[k] as number) & mask;
        featureValues[n++] = wordScale;
      }
      if (f.bigrams && k > 0) {
        featureBuckets[n] = (bigramHashes[k] as number) & mask;
        featureValues[n++] = wordScale;
      }
    }
  }
  if (f.trigrams) {
    const gramScale = 1 / Math.sqrt(Math.max(1, text.length - 2));
    for (let i = 0; i + 3 <= text.length; i++) {
      featureBuckets[n] = trigramHash(text, i) & mask;
      featureValues[n++] = gramScale;
    }
  }
  if (f.cues)
    for (const [name, v] of cues(text, words))
      if (v !== 0) {
        featureBuckets[n] = hash(name, 4) & mask;
        featureValues[n++] = v;
      }
  return n;
}

/** Calls `add` with every (bucket, value) of the prompt's features; a bucket may come more than once. */
export function visitFeatures(
  prompt: string,
  mask: number,
  f: FeatureSet,
  add: (bucket: number, v: number) => void,
  maxChars = MAX_CHARS,
): void {
  const n = collectFeatures(prompt, mask, f, maxChars);
  for (let k = 0; k < n; k++) add(featureBuckets[k] as number, featureValues[k] as number);
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

/** The probability that the weak backend answers the prompt well enough. */
export function weakSuffices(model: RouterModel, prompt: string): number {
  let z = model.bias;
  const w = model.weights;
  const n = collectFeatures(prompt, model.mask, model.families);
  for (let k = 0; k < n; k++) z += (w[featureBuckets[k] as number] as number) * (featureValues[k] as number);
  return sigmoid(z);
}

/**
 * The threshold that keeps at least `quality` of the strong backend's quality on the calibration subjects:
 * the lowest threshold whose measured quality reaches it (1, everything to the strong backend, when none
 * does). Memoised per quality: a route asks for the same one on every request.
 */
export function thresholdFor(model: RouterModel, quality: number): number {
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
