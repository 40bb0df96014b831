// Training and measuring the domain classifier (domain-model.ts). Labelled rows are {"domain", "prompt"}
// JSONL; rows in the RouteLLM format ({"benchmark", "subject", "prompt", …}) are labelled by their subject
// (MMLU_DOMAINS) and can be added to the training set. The fit is a multinomial logistic regression by
// AdaGrad with L2; weights too small to matter are pruned from the file. The evaluation reports accuracy
// overall and per domain (recall and precision) and the confusion counts.
import { z } from 'zod';
import {
  DOMAIN_MODEL_KIND,
  DOMAINS,
  classifyDomain,
  type Domain,
  type DomainModel,
  type DomainModelFile,
} from './domain-model.js';
import { parseJsonLines, type RouterRow } from './router-data.js';
import { featureSet, routerFeatures, type FeatureFamily } from './router-features.js';
import { seededRandom } from './seeded-random.js';

export const DomainRow = z.object({ domain: z.enum(DOMAINS), prompt: z.string().min(1) }).strict();
export type DomainRow = z.infer<typeof DomainRow>;

export const parseDomainRows = (text: string): DomainRow[] => parseJsonLines(text, DomainRow);

/** MMLU subjects (and GSM8K) by domain: where the RouteLLM rows add to the labelled set. */
const SUBJECTS: Partial<Record<Domain, string[]>> = {
  code: ['college_computer_science', 'high_school_computer_science', 'computer_security', 'machine_learning'],
  math: [
    'abstract_algebra',
    'college_mathematics',
    'elementary_mathematics',
    'high_school_statistics',
    'math', // gsm8k
  ],
  law: ['professional_law', 'international_law', 'jurisprudence'],
  medicine: [
    'anatomy',
    'clinical_knowledge',
    'college_medicine',
    'professional_medicine',
    'medical_genetics',
    'nutrition',
    'virology',
    'human_aging',
  ],
  finance: [
    'high_school_macroeconomics',
    'high_school_microeconomics',
    'econometrics',
    'professional_accounting',
    'marketing',
    'management',
    'business_ethics',
  ],
  science: [
    'astronomy',
    'college_biology',
    'college_chemistry',
    'college_physics',
    'conceptual_physics',
    'electrical_engineering',
    'high_school_biology',
    'high_school_chemistry',
    'high_school_physics',
  ],
  humanities: [
    'high_school_european_history',
    'high_school_us_history',
    'high_school_world_history',
    'philosophy',
    'prehistory',
    'world_religions',
    'moral_disputes',
    'moral_scenarios',
    'formal_logic',
    'logical_fallacies',
  ],
  'social-science': [
    'high_school_psychology',
    'professional_psychology',
    'sociology',
    'high_school_geography',
    'high_school_government_and_politics',
    'us_foreign_policy',
    'security_studies',
    'public_relations',
    'human_sexuality',
  ],
};

export const MMLU_DOMAINS: ReadonlyMap<string, Domain> = new Map(
  Object.entries(SUBJECTS).flatMap(([d, subjects]) => subjects.map((s) => [s, d as Domain] as const)),
);

/** RouteLLM rows as labelled rows: those of mapped subjects, at most `perSubject` of each. */
export function domainRowsOf(rows: readonly RouterRow[], perSubject: number): DomainRow[] {
  const taken = new Map<string, number>();
  const out: DomainRow[] = [];
  for (const r of rows) {
    const domain = MMLU_DOMAINS.get(r.subject);
    const n = taken.get(r.subject) ?? 0;
    if (domain === undefined || n >= perSubject) continue;
    taken.set(r.subject, n + 1);
    out.push({ domain, prompt: r.prompt });
  }
  return out;
}

export interface DomainTrainOptions {
  families: FeatureFamily[];
  buckets: number;
  epochs: number;
  learningRate: number;
  l2: number;
  minConfidence: number;
  maxChars: number;
  version: string;
  seed: number;
}

export const DEFAULT_DOMAIN_TRAIN: DomainTrainOptions = {
  families: ['words', 'trigrams'],
  buckets: 1 << 13,
  epochs: 8,
  learningRate: 0.3,
  l2: 1e-5,
  minConfidence: 0,
  maxChars: 600,
  version: 'v1',
  seed: 11,
};

/** Softmax regression by AdaGrad over the rows' sparse features. */
export function trainDomains(rows: readonly DomainRow[], o = DEFAULT_DOMAIN_TRAIN): DomainModelFile {
  const k = DOMAINS.length;
  const mask = o.buckets - 1;
  const f = featureSet(o.families);
  const examples = rows.map((r) => ({
    x: [...routerFeatures(r.prompt, mask, f, o.maxChars)],
    y: DOMAINS.indexOf(r.domain),
  }));
  const w = new Float64Array(o.buckets * k);
  const g2 = new Float64Array(o.buckets * k).fill(1e-8);
  const bias = new Float64Array(k);
  const biasG2 = new Float64Array(k).fill(1e-8);
  const random = seededRandom(o.seed);
  const order = examples.map((_, i) => i);
  const z = new Float64Array(k);
  for (let epoch = 0; epoch < o.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as number, order[i] as number];
    }
    for (const i of order) {
      const { x, y } = examples[i] as (typeof examples)[number];
      z.set(bias);
      for (const [b, v] of x)
        for (let d = 0; d < k; d++) z[d] = (z[d] as number) + (w[b * k + d] as number) * v;
      const max = Math.max(...z);
      let sum = 0;
      for (let d = 0; d < k; d++) sum += z[d] = Math.exp((z[d] as number) - max);
      for (let d = 0; d < k; d++) {
        const err = (z[d] as number) / sum - (d === y ? 1 : 0);
        for (const [b, v] of x) {
          const idx = b * k + d;
          const g = err * v + o.l2 * (w[idx] as number);
          g2[idx] = (g2[idx] as number) + g * g;
          w[idx] = (w[idx] as number) - (o.learningRate * g) / Math.sqrt(g2[idx]);
        }
        biasG2[d] = (biasG2[d] as number) + err * err;
        bias[d] = (bias[d] as number) - (o.learningRate * err) / Math.sqrt(biasG2[d] as number);
      }
    }
  }
  // Signed bytes: the largest weight maps to ±127.
  let max = 1e-9;
  for (const v of w) max = Math.max(max, Math.abs(v));
  const scale = max / 127;
  const bytes = Buffer.alloc(w.length);
  w.forEach((v, i) => bytes.writeInt8(Math.round(v / scale), i));
  return {
    kind: DOMAIN_MODEL_KIND,
    version: o.version,
    buckets: o.buckets,
    families: o.families,
    domains: [...DOMAINS],
    bias: [...bias].map((b) => Number(b.toFixed(4))),
    weights: bytes.toString('base64'),
    scale: Number(scale.toPrecision(6)),
    minConfidence: o.minConfidence,
    maxChars: o.maxChars,
    trainedOn: `${rows.length} labelled prompts`,
  };
}

export interface DomainReport {
  rows: number;
  accuracy: number;
  /** Per domain: its rows, recall (its rows classified as it) and precision (rows classified as it that are). */
  domains: Record<string, { rows: number; recall: number; precision: number }>;
  /** true domain → predicted domain → rows, the misclassified ones only. */
  confusion: Record<string, Record<string, number>>;
}

export function evaluateDomains(model: DomainModel, rows: readonly DomainRow[]): DomainReport {
  const stats = new Map<string, { rows: number; hit: number; predicted: number }>(
    DOMAINS.map((d) => [d, { rows: 0, hit: 0, predicted: 0 }]),
  );
  const confusion: Record<string, Record<string, number>> = {};
  let hits = 0;
  for (const r of rows) {
    const { domain } = classifyDomain(model, r.prompt);
    const truth = stats.get(r.domain);
    const guessed = stats.get(domain);
    if (truth !== undefined) truth.rows++;
    if (guessed !== undefined) guessed.predicted++;
    if (domain === r.domain) {
      hits++;
      if (truth !== undefined) truth.hit++;
    } else {
      const row = (confusion[r.domain] ??= {});
      row[domain] = (row[domain] ?? 0) + 1;
    }
  }
  const ratio = (a: number, b: number) => (b === 0 ? 0 : Number((a / b).toFixed(4)));
  return {
    rows: rows.length,
    accuracy: ratio(hits, rows.length),
    domains: Object.fromEntries(
      [...stats].map(([d, s]) => [
        d,
        { rows: s.rows, recall: ratio(s.hit, s.rows), precision: ratio(s.hit, s.predicted) },
      ]),
    ),
    confusion,
  };
}
