// npm run bench:router — the quality/cost router with whole subjects held out: the rows' subjects in five
// folds; for each fold a model is trained (fit and calibrated) on the other four and scores the held-out
// fold at the threshold of its own calibration for 95% quality; the held-out scores of all folds are then
// evaluated together. Prints the fold sizes, the machine's load, and the evaluation JSON.
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cleanRows, parseRows, subjectFolds } from '../../gateway/src/routing/router-data.js';
import { evaluateScored, type Scored } from '../../gateway/src/routing/router-eval.js';
import {
  bandEdgesOf,
  loadRouterModel,
  thresholdFor,
  weakSuffices,
} from '../../gateway/src/routing/router-model.js';
import type { FeatureFamily } from '../../gateway/src/routing/router-features.js';
import { DEFAULT_TRAIN, trainRouter } from '../../gateway/src/routing/router-train.js';
import { bundledDomainModel, classifyDomain } from '../../gateway/src/routing/domain-model.js';
import { LearningRouter } from '../../gateway/src/routing/router-learner.js';
import { seededRandom } from '../../gateway/src/routing/seeded-random.js';
import { evaluateDomains, parseDomainRows } from '../../gateway/src/routing/domain-train.js';
import { replayHeldOut } from './learning.js';

const { values } = parseArgs({
  options: {
    data: {
      type: 'string',
      default: join(process.cwd(), '..', 'shared', 'data', 'routing', 'routellm-train.jsonl'),
    },
    folds: { type: 'string', default: '5' },
    quality: { type: 'string', default: '0.95' },
    epochs: { type: 'string', default: String(DEFAULT_TRAIN.epochs) },
    l2: { type: 'string', default: String(DEFAULT_TRAIN.l2) },
    buckets: { type: 'string', default: String(DEFAULT_TRAIN.buckets) },
    'learning-rate': { type: 'string', default: String(DEFAULT_TRAIN.learningRate) },
    families: { type: 'string', default: DEFAULT_TRAIN.families.join(',') },
    'feedback-rate': { type: 'string', default: '0.2' },
    seeds: { type: 'string', default: '3' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    'npm run bench:router -- [--data rows.jsonl] [--folds 5] [--quality 0.95] [--epochs n] [--l2 x]\n' +
      '                        [--buckets 2^k] [--learning-rate x] [--feedback-rate 0.2] [--seeds 3]\n' +
      'Trains and evaluates the quality/cost router with whole subjects held out (cross-validation by subject),\n' +
      'replays the held-out rows through the static and the learning router, and measures the domain classifier.\n',
  );
  process.exit(0);
}

const k = Number(values.folds);
const quality = Number(values.quality);
const { rows, dropped } = cleanRows(parseRows(readFileSync(values.data, 'utf8')));
const folds = subjectFolds(rows, k);
const scored: Scored[] = [];
const heldOutModels: ReturnType<typeof loadRouterModel>[] = [];
const t0 = performance.now();
folds.forEach((test, i) => {
  const train = folds.filter((_, j) => j !== i).flat();
  const trained = trainRouter(train, {
    ...DEFAULT_TRAIN,
    epochs: Number(values.epochs),
    l2: Number(values.l2),
    buckets: Number(values.buckets),
    learningRate: Number(values['learning-rate']),
    families: values.families.split(',') as FeatureFamily[],
    seed: DEFAULT_TRAIN.seed + i,
  });
  const model = loadRouterModel(trained.model);
  heldOutModels.push(model);
  const threshold = thresholdFor(model, quality);
  for (const row of test) scored.push({ row, p: weakSuffices(model, row.prompt), threshold });
  const subjects = new Set(test.map((r) => `${r.benchmark}/${r.subject}`)).size;
  process.stdout.write(
    `fold ${i + 1}/${k}: held out ${test.length} rows of ${subjects} subjects; fit ${trained.fitRows}, ` +
      `calibration ${trained.calibrationRows}; threshold for ${quality} quality ${threshold.toFixed(3)}\n`,
  );
});
// The decision's cost on the request path, one prompt at a time after a warm-up (JIT): the static router's
// features and score; the domain classifier; and the learning router's whole decision (domain, score,
// plan) as a route with `learning` makes it.
const timing = loadRouterModel(trainRouter(folds.slice(1).flat()).model);
const domainModel = bundledDomainModel();
const learner = new LearningRouter({ targetQuality: quality, bandEdges: bandEdgesOf(timing, 4, quality) });
const tLearn = thresholdFor(timing, quality);
const random = seededRandom(1);
const decisions: Record<string, (prompt: string) => unknown> = {
  'static router': (prompt) => weakSuffices(timing, prompt),
  'domain classifier': (prompt) => classifyDomain(domainModel, prompt),
  'learning router (domain + score + plan)': (prompt) => {
    const p = weakSuffices(timing, prompt);
    return learner.decide(classifyDomain(domainModel, prompt).domain, p, p >= tLearn, random);
  },
};
const meanChars = Math.round(scored.reduce((n, s) => n + s.row.prompt.length, 0) / scored.length);
for (const [name, decide] of Object.entries(decisions)) {
  for (const { row } of scored) decide(row.prompt);
  const times = scored.map(({ row }) => {
    const t = performance.now();
    decide(row.prompt);
    return performance.now() - t;
  });
  times.sort((a, b) => a - b);
  const at = (q: number) => (times[Math.floor(q * (times.length - 1))] ?? 0) * 1000;
  process.stdout.write(
    `decision time, ${name}, per prompt (mean ${meanChars} chars): ` +
      `p50 ${at(0.5).toFixed(1)} µs, p99 ${at(0.99).toFixed(1)} µs, max ${at(1).toFixed(1)} µs\n`,
  );
}
const report = evaluateScored(scored);
const brief = Object.fromEntries(
  Object.entries(report.benchmarks).map(([name, b]) => [name, { ...b, curve: undefined }]),
);
process.stdout.write(
  `dropped as misgraded: ${dropped.join(', ') || 'none'}; ${(performance.now() - t0) / 1000} s; ` +
    `load ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}\n`,
);
process.stdout.write(`${JSON.stringify({ priceRatio: report.priceRatio, benchmarks: brief }, null, 2)}\n`);

// The learning router (bandit feedback at --feedback-rate) beside the static one, subjects held out.
const learning = replayHeldOut(folds, heldOutModels, {
  quality,
  feedbackRate: Number(values['feedback-rate']),
  seeds: Number(values.seeds),
});
process.stdout.write(`learning router replays (${values['feedback-rate']} feedback, target ${quality}):\n`);
process.stdout.write(`${JSON.stringify(learning, null, 2)}\n`);

// The domain classifier on the labelled test prompts (written apart from its training prompts).
const domainTest = parseDomainRows(
  readFileSync(join(process.cwd(), 'gateway', 'src', 'routing', 'domains', 'test.jsonl'), 'utf8'),
);
const domains = evaluateDomains(bundledDomainModel(), domainTest);
process.stdout.write(
  `domain classifier on ${domains.rows} test prompts: accuracy ${domains.accuracy}; recall by domain ${Object.entries(
    domains.domains,
  )
    .map(([d, s]) => `${d} ${s.recall}`)
    .join(', ')}\n`,
);
