// The learning router stepped request by request on synthetic streams whose answers are known: it starts
// as the static router, learns where the weak backend is good enough, keeps the quality floor where the
// static router is too optimistic, bounds its exploration, and its counts merge across replicas.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRows, cleanRows, subjectFolds, type RouterRow } from './router-data.js';
import { addCounts, LearningRouter, type LearnerOptions } from './router-learner.js';
import { bundledRouterModel, loadRouterModel } from './router-model.js';
import { replayRows } from './router-replay.js';
import { DEFAULT_TRAIN, trainRouter } from './router-train.js';
import { seededRandom } from './seeded-random.js';

interface Kind {
  cluster: string;
  p: number;
  weakAcc: number;
  strongAcc: number;
}

/** Runs `n` requests drawn from `kinds`, every outcome told; returns the weak share and quality per cluster. */
function stream(
  learner: LearningRouter,
  kinds: Kind[],
  n: number,
  staticWeak: (k: Kind) => boolean,
  seed = 1,
) {
  const random = seededRandom(seed);
  const by = new Map<
    string,
    { n: number; weak: number; correct: number; strong: number; explored: number }
  >();
  for (let i = 0; i < n; i++) {
    const k = kinds[Math.floor(random() * kinds.length)] as Kind;
    const d = learner.decide(k.cluster, k.p, staticWeak(k), random);
    const weakOk = random() < k.weakAcc;
    const strongOk = random() < k.strongAcc;
    learner.observe(d.cell, d.weak ? 'weak' : 'strong', d.weak ? weakOk : strongOk);
    if (i < n / 2) continue;
    const s = by.get(k.cluster) ?? { n: 0, weak: 0, correct: 0, strong: 0, explored: 0 };
    s.n++;
    s.weak += d.weak ? 1 : 0;
    s.correct += (d.weak ? weakOk : strongOk) ? 1 : 0;
    s.strong += strongOk ? 1 : 0;
    s.explored += d.via === 'explore' ? 1 : 0;
    by.set(k.cluster, s);
  }
  const all = [...by.values()].reduce(
    (a, s) => ({
      n: a.n + s.n,
      correct: a.correct + s.correct,
      strong: a.strong + s.strong,
      explored: a.explored + s.explored,
    }),
    { n: 0, correct: 0, strong: 0, explored: 0 },
  );
  return {
    weakShare: (cluster: string) => (by.get(cluster)?.weak ?? 0) / (by.get(cluster)?.n ?? 1),
    quality: all.correct / all.strong,
    explored: all.explored / all.n,
  };
}

const learner = (o: Partial<LearnerOptions> = {}) =>
  new LearningRouter({ targetQuality: 0.95, bandEdges: [0.5], ...o });

describe('learning router', () => {
  test('before any outcome it routes exactly like the static router', () => {
    const l = learner({ exploration: 0 });
    const random = seededRandom(3);
    for (let i = 0; i < 1000; i++) {
      const p = random();
      const staticWeak = p > 0.7;
      expect(l.decide(i % 2 === 0 ? 'code' : 'law', p, staticWeak, random).weak).toBe(staticWeak);
    }
  });

  test('learns that the weak backend is good enough on one cluster and not on another', () => {
    const kinds: Kind[] = [
      { cluster: 'chat', p: 0.2, weakAcc: 0.9, strongAcc: 0.9 },
      { cluster: 'math', p: 0.2, weakAcc: 0.3, strongAcc: 0.9 },
    ];
    // The static router sends both strong (p below its threshold).
    const l = learner();
    const r = stream(l, kinds, 6000, () => false);
    expect(r.weakShare('chat')).toBeGreaterThan(0.8);
    // At most what is left of the loss budget once chat is all weak, and exploration (5% of traffic).
    expect(l.cells().find((c) => c.cell === 'math#0')?.weakShare).toBeLessThan(0.1);
    expect(r.weakShare('math')).toBeLessThan(0.15);
    expect(r.quality).toBeGreaterThanOrEqual(0.95 - 0.02);
  });

  test('keeps the quality floor where the static router is too optimistic', () => {
    const kinds: Kind[] = [
      { cluster: 'a', p: 0.8, weakAcc: 0.5, strongAcc: 0.9 },
      { cluster: 'b', p: 0.8, weakAcc: 0.6, strongAcc: 0.9 },
    ];
    const staticOnly = stream(learner({ exploration: 0, minOutcomes: 1e9 }), kinds, 4000, () => true);
    expect(staticOnly.quality).toBeLessThan(0.7);
    const learnt = stream(learner(), kinds, 4000, () => true);
    expect(learnt.quality).toBeGreaterThanOrEqual(0.93);
  });

  test('explores no more than its declared share of traffic', () => {
    const kinds: Kind[] = [{ cluster: 'x', p: 0.6, weakAcc: 0.8, strongAcc: 0.8 }];
    for (const exploration of [0, 0.02, 0.1]) {
      const r = stream(learner({ exploration }), kinds, 20_000, () => true);
      // 3 standard deviations of a binomial share over 10,000 requests.
      expect(r.explored).toBeLessThanOrEqual(
        exploration + 3 * Math.sqrt((exploration * (1 - exploration)) / 10_000),
      );
    }
  });

  test('never explores the weak backend when the quality target leaves no loss to spend', () => {
    const l = learner({ targetQuality: 1, exploration: 0.5 });
    const random = seededRandom(9);
    for (let i = 0; i < 2000; i++) {
      const d = l.decide('x', 0.3, false, random);
      if (d.via === 'explore') expect(d.weak).toBe(false);
      l.observe(d.cell, d.weak ? 'weak' : 'strong', random() < 0.8);
    }
  });

  test("replicas' counts add up to what one learner would have seen", () => {
    const kinds: Kind[] = [
      { cluster: 'chat', p: 0.2, weakAcc: 0.9, strongAcc: 0.9 },
      { cluster: 'math', p: 0.2, weakAcc: 0.3, strongAcc: 0.9 },
    ];
    const a = learner();
    const b = learner();
    stream(a, kinds, 3000, () => false, 1);
    stream(b, kinds, 3000, () => false, 2);
    const shared = addCounts(a.drain(), b.drain());
    expect(a.drain()).toEqual({}); // drained
    const c = learner();
    c.restore(shared);
    const total = (l: LearningRouter) =>
      Object.values(l.snapshot()).reduce((s, x) => s + x.requests + x.weak.n + x.strong.n, 0);
    expect(total(c)).toBe(6000 * 2);
    const chat = c.cells().find((v) => v.cell === 'chat#0');
    expect(chat?.weakShare).toBeGreaterThan(0.8);
    // What a replica counted after the last drain survives a restore of the shared counts.
    const random = seededRandom(4);
    c.observe(c.decide('chat', 0.2, false, random).cell, 'weak', true);
    c.restore(shared);
    expect(total(c)).toBe(6000 * 2 + 2);
  });

  test('reset forgets what was learnt and the static router decides again', () => {
    const l = learner();
    const kinds: Kind[] = [{ cluster: 'chat', p: 0.2, weakAcc: 0.9, strongAcc: 0.9 }];
    stream(l, kinds, 2000, () => false);
    const noExploration = () => 0.99;
    expect(l.decide('chat', 0.2, false, noExploration).weak).toBe(true);
    l.reset();
    expect(l.snapshot()).toEqual({});
    expect(l.cells()).toEqual([]);
    expect(l.decide('chat', 0.2, false, noExploration).weak).toBe(false);
  });
});

/** Rows whose prompts name their cluster: the weak model is as good as the strong on `easy` only. */
function syntheticRows(n: number): RouterRow[] {
  const random = seededRandom(5);
  return Array.from({ length: n }, (_, i) => {
    const easy = i % 2 === 0;
    const strong = random() < 0.9;
    return {
      benchmark: 'synthetic',
      subject: easy ? 'easy' : 'hard',
      prompt: `${easy ? 'easy' : 'hard'} question number ${i}: what is ${i} + ${i % 7}?`,
      weak_correct: easy ? strong : random() < 0.2,
      strong_correct: strong,
    };
  });
}

describe('router replay', () => {
  test('the learning router beats the static one where the clusters differ, under bandit feedback', () => {
    const report = replayRows(syntheticRows(8000), bundledRouterModel(), {
      targetQuality: 0.95,
      feedbackRate: 0.2,
      seed: 1,
      clusterOf: (prompt) => prompt.slice(0, 4),
    });
    expect(report.rows).toBe(8000);
    expect(report.feedback).toBeGreaterThan(1400);
    expect(report.feedback).toBeLessThan(1800);
    // Half the traffic is easy: the learner finds most of it, and keeps the quality.
    expect(report.learning.weakShare).toBeGreaterThan(0.4);
    expect(report.learning.qualityKept).toBeGreaterThanOrEqual(0.93);
    expect(report.learning.regret).toBeLessThan(report.static.regret);
    expect(report.learning.explored).toBeLessThanOrEqual(0.07);
  });
});

// On the RouteLLM data (where checked out beside the repository): a model trained on one fold of subjects,
// the other folds replayed. The static router's calibration does not carry to subjects it never saw; the
// learning router's quality does.
const DATA = join(process.cwd(), '..', 'shared', 'data', 'routing', 'routellm-train.jsonl');
(existsSync(DATA) ? test : test.skip)(
  'on subjects held out of training the learning router keeps more of the quality than the static one',
  () => {
    const { rows } = cleanRows(parseRows(readFileSync(DATA, 'utf8')));
    const folds = subjectFolds(rows, 5);
    const model = loadRouterModel(trainRouter(folds[0] as RouterRow[], DEFAULT_TRAIN).model);
    const report = replayRows(folds.slice(1).flat(), model, {
      targetQuality: 0.95,
      feedbackRate: 0.2,
      seed: 1,
      clusterOf: () => 'all',
    });
    expect(report.static.qualityKept).toBeLessThan(0.94);
    expect(report.learning.qualityKept).toBeGreaterThan(report.static.qualityKept + 0.01);
  },
  60_000,
);
