// Training the quality/cost router: logistic regression on the hashed prompt features (AdaGrad, L2), fit
// on some subjects, calibrated on others. The calibration curve — for each candidate threshold, the quality
// kept on subjects the fit never saw — is what a route's target quality is turned into a threshold with, so
// the threshold is never tuned on rows the model learnt from (nor, in evaluation, on the test rows).
import { cleanRows, subjectFolds, weakSufficesLabel, type RouterRow } from './router-data.js';
import { ROUTER_MODEL_KIND, type RouterModelFile } from './router-model.js';
import { featureSet, routerFeatures, type FeatureFamily } from './router-features.js';
import { EMBEDDING_ROUTER_KIND, embeddingFeatures, type EmbeddingRouterFile } from './router-embeddings.js';

export interface TrainOptions {
  families: FeatureFamily[];
  /** Hash buckets (a power of two). */
  buckets: number;
  epochs: number;
  learningRate: number;
  l2: number;
  /** One subject in this many goes to calibration instead of the fit. */
  calibrationEvery: number;
  version: string;
  seed: number;
}

/**
 * Chosen by subject-held-out cross-validation (npm run bench:router): character trigrams and cues with a
 * small table and few epochs transfer to unseen subjects better than word n-grams, which learn the subjects.
 */
export const DEFAULT_TRAIN: TrainOptions = {
  families: ['trigrams', 'cues'],
  buckets: 1 << 14,
  epochs: 2,
  learningRate: 0.05,
  l2: 1e-4,
  calibrationEvery: 4,
  version: 'v1',
  seed: 7,
};

interface Example {
  features: [number, number][];
  label: number;
}

const sigmoid = (z: number): number => 1 / (1 + Math.exp(-z));

function shuffle<T>(xs: T[], seed: number): T[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a * 1664525 + 1013904223) >>> 0;
    return a / 4294967296;
  };
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [xs[i], xs[j]] = [xs[j] as T, xs[i] as T];
  }
  return xs;
}

/** Logistic regression by AdaGrad over sparse examples; returns weights and bias. */
export function fitLogistic(examples: Example[], o: TrainOptions): { weights: Float64Array; bias: number } {
  const w = new Float64Array(o.buckets);
  const g2 = new Float64Array(o.buckets).fill(1e-8);
  let bias = 0;
  let biasG2 = 1e-8;
  const order = examples.map((_, i) => i);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (const i of shuffle(order, o.seed + epoch)) {
      const ex = examples[i] as Example;
      let z = bias;
      for (const [k, v] of ex.features) z += (w[k] ?? 0) * v;
      const err = sigmoid(z) - ex.label;
      for (const [k, v] of ex.features) {
        const g = err * v + o.l2 * (w[k] ?? 0);
        g2[k] = (g2[k] ?? 0) + g * g;
        w[k] = (w[k] ?? 0) - (o.learningRate * g) / Math.sqrt(g2[k] ?? 1);
      }
      biasG2 += err * err;
      bias -= (o.learningRate * err) / Math.sqrt(biasG2);
    }
  }
  return { weights: w, bias };
}

const score = (weights: Float64Array, bias: number, features: [number, number][]): number => {
  let z = bias;
  for (const [k, v] of features) z += (weights[k] ?? 0) * v;
  return sigmoid(z);
};

/** For thresholds at every 2% of the calibration rows' scores: the quality kept routing p ≥ threshold weak. */
function calibrate(
  rows: readonly RouterRow[],
  p: readonly number[],
): { quality: number; threshold: number }[] {
  const strong = rows.filter((r) => r.strong_correct).length;
  const sorted = [...p].sort((a, b) => a - b);
  const out: { quality: number; threshold: number }[] = [{ quality: 1, threshold: 1 }];
  for (let q = 0; q <= 50; q++) {
    const threshold = sorted[Math.min(sorted.length - 1, Math.floor((q / 50) * sorted.length))] ?? 1;
    let correct = 0;
    rows.forEach((r, i) => {
      correct += ((p[i] ?? 0) >= threshold ? r.weak_correct : r.strong_correct) ? 1 : 0;
    });
    out.push({ quality: strong === 0 ? 1 : Number((correct / strong).toFixed(4)), threshold });
  }
  return out;
}

interface Fitted {
  weights: Float64Array;
  bias: number;
  calibration: { quality: number; threshold: number }[];
  dropped: string[];
  fitRows: number;
  calibrationRows: number;
  trainedOn: string;
}

/**
 * Misgraded subjects dropped, subjects split into fit and calibration; the regression fit on the features
 * `featuresOf` gives a row, the calibration curve from the held-out subjects' scores.
 */
function fitAndCalibrate(
  all: readonly RouterRow[],
  o: TrainOptions,
  featuresOf: (r: RouterRow) => [number, number][],
): Fitted {
  const { rows, dropped } = cleanRows(all);
  const folds = subjectFolds(rows, o.calibrationEvery);
  const calibration = folds[0] ?? [];
  const fit = folds.slice(1).flat();
  if (fit.length === 0 || calibration.length === 0)
    throw new Error(`need rows of at least ${o.calibrationEvery} subjects to fit and calibrate`);
  const examples = fit.map((r) => ({ features: featuresOf(r), label: weakSufficesLabel(r) ? 1 : 0 }));
  const { weights, bias } = fitLogistic(examples, o);
  const p = calibration.map((r) => score(weights, bias, featuresOf(r)));
  const subjects = (rs: RouterRow[]) => new Set(rs.map((r) => r.subject)).size;
  return {
    weights,
    bias,
    calibration: calibrate(calibration, p),
    dropped,
    fitRows: fit.length,
    calibrationRows: calibration.length,
    trainedOn: `${fit.length} rows of ${subjects(fit)} subjects; calibrated on ${calibration.length} rows of ${subjects(calibration)} others`,
  };
}

/** Trains a model file of hashed prompt features from rows. */
export function trainRouter(
  all: readonly RouterRow[],
  o: TrainOptions = DEFAULT_TRAIN,
): { model: RouterModelFile; dropped: string[]; fitRows: number; calibrationRows: number } {
  const mask = o.buckets - 1;
  const f = featureSet(o.families);
  const t = fitAndCalibrate(all, o, (r) => [...routerFeatures(r.prompt, mask, f)]);
  const pairs: [number, number][] = [];
  t.weights.forEach((w, i) => {
    if (Math.abs(w) >= 1e-4) pairs.push([i, Number(w.toFixed(4))]);
  });
  const { dropped, fitRows, calibrationRows } = t;
  return {
    model: {
      kind: ROUTER_MODEL_KIND,
      ...{ version: o.version, families: o.families, buckets: o.buckets },
      ...{
        bias: Number(t.bias.toFixed(6)),
        weights: pairs,
        calibration: t.calibration,
        trainedOn: t.trainedOn,
      },
    },
    ...{ dropped, fitRows, calibrationRows },
  };
}

/** Embeddings are dense and few: more passes than the hashed features take. */
export const DEFAULT_EMBEDDING_TRAIN: Omit<TrainOptions, 'families' | 'buckets'> = {
  epochs: 8,
  learningRate: 0.05,
  l2: 1e-4,
  calibrationEvery: 4,
  version: 'emb-v1',
  seed: 7,
};

/** Trains a router on the rows' prompt embeddings (`vectorOf`, all of `dimensions`) from `embeddingModel`. */
export function trainEmbeddingRouter(
  all: readonly RouterRow[],
  vectorOf: (prompt: string) => readonly number[],
  e: { embeddingModel: string; dimensions: number },
  o: Omit<TrainOptions, 'families' | 'buckets'> = DEFAULT_EMBEDDING_TRAIN,
): { model: EmbeddingRouterFile; dropped: string[]; fitRows: number; calibrationRows: number } {
  const options: TrainOptions = { ...o, families: [], buckets: e.dimensions };
  const t = fitAndCalibrate(all, options, (r) => embeddingFeatures(vectorOf(r.prompt)));
  const { dropped, fitRows, calibrationRows } = t;
  return {
    model: {
      kind: EMBEDDING_ROUTER_KIND,
      ...{ version: o.version, embeddingModel: e.embeddingModel, dimensions: e.dimensions },
      ...{ bias: Number(t.bias.toFixed(6)), weights: [...t.weights].map((w) => Number(w.toFixed(5))) },
      ...{ calibration: t.calibration, trainedOn: t.trainedOn },
    },
    ...{ dropped, fitRows, calibrationRows },
  };
}
