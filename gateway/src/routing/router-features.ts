// The router's prompt features, computed in one pass over the lower-cased text and without allocating on
// the request path: hashed word unigrams and bigrams, character trigrams, and structure cues (length,
// words, digits, a formula, code, lettered answer options, a question mark, lines), each family scaled to
// unit length. Shared by the quality/cost router (router-model.ts) and the domain classifier
// (domain-model.ts); featureScore scores a linear model on them without collecting them first. Pure. The
// lower-cased text and its token scan are in prompt-scan.ts, the cue scan in prompt-cues.ts.
import { CUE_HASHES, CUE_NAMES, cueValues, scanCues } from './prompt-cues.js';
import {
  bigramHashes,
  codes,
  FNV_PRIME,
  lowerInto,
  MAX_CHARS,
  MAX_LOWER,
  scanTokens,
  TRIGRAM_SEED,
  wordHashes,
} from './prompt-scan.js';

export const FEATURE_FAMILIES = ['words', 'bigrams', 'trigrams', 'cues'] as const;
export type FeatureFamily = (typeof FEATURE_FAMILIES)[number];

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
const MAX_FEATURES = MAX_LOWER * 3 + CUE_NAMES.length;
export const featureBuckets = new Uint32Array(MAX_FEATURES);
export const featureValues = new Float64Array(MAX_FEATURES);

/**
 * Collects the prompt's features into featureBuckets/featureValues (a bucket may come more than once) and
 * returns their count: the request path scores typed arrays, with no callback or allocation per feature.
 * The arrays are overwritten by the next call.
 */
export function collectFeatures(prompt: string, mask: number, f: FeatureSet, maxChars = MAX_CHARS): number {
  const len = lowerInto(prompt, Math.min(maxChars, MAX_CHARS));
  let n = 0;
  if (f.words || f.bigrams) {
    const words = scanTokens(len);
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
  if (f.trigrams && len >= 3) {
    // hash(text.slice(i - 2, i + 1), 3), the first step of each shared with the trigram before.
    const gramScale = 1 / Math.sqrt(len - 2);
    let first = Math.imul(TRIGRAM_SEED ^ (codes[0] as number), FNV_PRIME);
    let second = codes[1] as number;
    for (let i = 2; i < len; i++) {
      const c = codes[i] as number;
      featureBuckets[n] = Math.imul(Math.imul(first ^ second, FNV_PRIME) ^ c, FNV_PRIME) & mask;
      featureValues[n++] = gramScale;
      first = Math.imul(TRIGRAM_SEED ^ second, FNV_PRIME);
      second = c;
    }
  }
  if (f.cues) {
    scanCues(len);
    for (let k = 0; k < CUE_NAMES.length; k++) {
      const v = cueValues[k] as number;
      if (v !== 0) {
        featureBuckets[n] = (CUE_HASHES[k] as number) & mask;
        featureValues[n++] = v;
      }
    }
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

/**
 * A linear model's z of the prompt: `bias` plus weight × value over the features collectFeatures gives,
 * added in the same order (the same z to the bit), but each added as it is computed rather than collected
 * first (the request path scores without filling the feature arrays).
 */
export function featureScore(
  model: { families: FeatureSet; mask: number; weights: Float32Array; bias: number },
  prompt: string,
): number {
  const { families: f, mask, weights: w } = model;
  let z = model.bias;
  const len = lowerInto(prompt, MAX_CHARS);
  if (f.words || f.bigrams) {
    const words = scanTokens(len);
    const wordScale = 1 / Math.sqrt(Math.max(1, words));
    for (let k = 0; k < words; k++) {
      if (f.words) z += (w[(wordHashes[k] as number) & mask] as number) * wordScale;
      if (f.bigrams && k > 0) z += (w[(bigramHashes[k] as number) & mask] as number) * wordScale;
    }
  }
  if (f.trigrams && len >= 3) {
    const gramScale = 1 / Math.sqrt(len - 2);
    let first = Math.imul(TRIGRAM_SEED ^ (codes[0] as number), FNV_PRIME);
    let second = codes[1] as number;
    for (let i = 2; i < len; i++) {
      const c = codes[i] as number;
      z += (w[Math.imul(Math.imul(first ^ second, FNV_PRIME) ^ c, FNV_PRIME) & mask] as number) * gramScale;
      first = Math.imul(TRIGRAM_SEED ^ second, FNV_PRIME);
      second = c;
    }
  }
  if (f.cues) {
    scanCues(len);
    for (let k = 0; k < CUE_NAMES.length; k++) {
      const v = cueValues[k] as number;
      if (v !== 0) z += (w[(CUE_HASHES[k] as number) & mask] as number) * v;
    }
  }
  return z;
}
