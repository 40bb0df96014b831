// Offline evaluation of the semantic cache on paraphrase pairs {"origin", "similar"} (the GPTCache benchmark
// format): a seeded share of the distinct origins is inserted into an exact index (brute force dot products
// over embedText vectors), then every paraphrase is looked up as a new prompt would be. A paraphrase of an
// inserted origin should hit that origin (`correct`; any other origin is `misdirected`); a paraphrase of an
// origin that was not inserted is a different question from everything cached and must miss (`wrong`: any
// hit at all). Lookup latency is measured per query as the cache would pay it: embed, search, guard.
import { seededRandom } from '../../routing/seeded-random.js';
import { embedText } from './embedder.js';
import { GUARD_CHECKS, guardRefusalWith, type GuardCheck } from './guard.js';
import { DEFAULT_SEMANTIC_THRESHOLD } from '../../../../api/v1alpha1/index.js';

export { DEFAULT_SEMANTIC_THRESHOLD };

/** The guard may refuse the nearest entry; the next ones above the threshold are tried, this many in all. */
export const MAX_CANDIDATES = 3;

export interface Pair {
  origin: string;
  similar: string;
}

export interface ThresholdReport {
  threshold: number;
  /** Of the paraphrases of inserted origins: the share that hit their own origin. */
  correct: number;
  /** Of the paraphrases of inserted origins: the share that hit another origin. */
  misdirected: number;
  /** Of the paraphrases of origins not inserted: the share that hit anything. */
  wrong: number;
  lookupP50Ms: number;
  lookupP99Ms: number;
}

export interface CacheEvalReport {
  pairs: number;
  /** Distinct origins inserted. */
  inserted: number;
  /** Paraphrases whose origin was inserted (the denominator of correct and misdirected). */
  hitQueries: number;
  /** Paraphrases whose origin was not inserted (the denominator of wrong). */
  missQueries: number;
  thresholds: ThresholdReport[];
}

export interface EvalOptions {
  insertFraction: number;
  seed: number;
  thresholds: number[];
  guard: boolean;
  /** The guard's checks when guard is on (default: all of them); for measuring each one's effect. */
  checks?: readonly GuardCheck[];
  /** The embedder (default embedText); for comparing embedders. */
  embed?: (text: string) => Float32Array;
}

/** Validates pairs read from JSON: an array of objects with string origin and similar. */
export function parsePairs(json: unknown): Pair[] {
  if (!Array.isArray(json)) throw new Error('pairs: expected a JSON array of {"origin", "similar"} objects');
  return json.map((item: unknown, i) => {
    const o = item as { origin?: unknown; similar?: unknown } | null;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) {
      throw new Error(`pairs[${i}]: expected an object {"origin", "similar"}`);
    }
    if (typeof o.origin !== 'string' || typeof o.similar !== 'string') {
      throw new Error(`pairs[${i}]: "origin" and "similar" must both be strings`);
    }
    return { origin: o.origin, similar: o.similar };
  });
}

/** The distinct origins in a seeded random order; the first round(fraction × count) are inserted. */
function chooseInserted(pairs: Pair[], fraction: number, seed: number): Set<string> {
  if (!(fraction >= 0 && fraction <= 1)) throw new Error('insertFraction must be between 0 and 1');
  const origins = [...new Set(pairs.map((p) => p.origin))];
  const random = seededRandom(seed);
  for (let i = origins.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [origins[i], origins[j]] = [origins[j]!, origins[i]!];
  }
  return new Set(origins.slice(0, Math.round(fraction * origins.length)));
}

interface Index {
  texts: string[];
  vectors: Float32Array[];
}

/** The up-to-MAX_CANDIDATES entries at or above threshold, most similar first. */
export function nearest(index: Index, query: Float32Array, threshold: number): number[] {
  // A prompt's vector has a few hundred non-zero buckets at most: the dot products visit only those.
  const at: number[] = [];
  for (let k = 0; k < query.length; k++) if (query[k] !== 0) at.push(k);
  const best: { i: number; score: number }[] = [];
  for (let i = 0; i < index.vectors.length; i++) {
    const v = index.vectors[i]!;
    let score = 0;
    for (const k of at) score += query[k]! * v[k]!;
    if (score < threshold) continue;
    if (best.length === MAX_CANDIDATES && score <= best[best.length - 1]!.score) continue;
    let place = best.length;
    while (place > 0 && best[place - 1]!.score < score) place--;
    best.splice(place, 0, { i, score });
    if (best.length > MAX_CANDIDATES) best.pop();
  }
  return best.map((b) => b.i);
}

/** One lookup as the cache makes it: embed, search, then the guard on each candidate in turn. */
function lookup(
  index: Index,
  query: string,
  threshold: number,
  embed: (text: string) => Float32Array,
  checks: readonly GuardCheck[] | undefined,
): string | undefined {
  for (const i of nearest(index, embed(query), threshold)) {
    const cached = index.texts[i]!;
    if (checks === undefined || guardRefusalWith(query, cached, checks) === undefined) return cached;
  }
  return undefined;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const round = (x: number, digits = 4): number => Number(x.toFixed(digits));

/** Inserts a seeded share of the origins, looks every paraphrase up, and reports each threshold. */
export function evaluatePairs(pairs: Pair[], o: EvalOptions): CacheEvalReport {
  const embed = o.embed ?? embedText;
  const inserted = chooseInserted(pairs, o.insertFraction, o.seed);
  const texts = [...inserted];
  const index: Index = { texts, vectors: texts.map(embed) };
  const checks = o.guard ? (o.checks ?? GUARD_CHECKS) : undefined;
  const hitQueries = pairs.filter((p) => inserted.has(p.origin)).length;
  const missQueries = pairs.length - hitQueries;
  const thresholds = o.thresholds.map((threshold) => {
    let correct = 0;
    let misdirected = 0;
    let wrong = 0;
    const times: number[] = [];
    for (const p of pairs) {
      const start = performance.now();
      const hit = lookup(index, p.similar, threshold, embed, checks);
      times.push(performance.now() - start);
      if (hit === undefined) continue;
      if (!inserted.has(p.origin)) wrong++;
      else if (hit === p.origin) correct++;
      else misdirected++;
    }
    times.sort((a, b) => a - b);
    return {
      threshold,
      correct: round(correct / Math.max(1, hitQueries)),
      misdirected: round(misdirected / Math.max(1, hitQueries)),
      wrong: round(wrong / Math.max(1, missQueries)),
      lookupP50Ms: round(percentile(times, 0.5), 3),
      lookupP99Ms: round(percentile(times, 0.99), 3),
    };
  });
  return { pairs: pairs.length, inserted: inserted.size, hitQueries, missQueries, thresholds };
}
