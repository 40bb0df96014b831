// The guarantees, measured: A/A runs peeked at every tick keep the false-positive rate under α, a true
// effect of the declared MDE is found with the declared power by the planned sample size, guardrails catch
// harm, futility stops, and — the reason for all of this — a fixed-horizon test peeked at every tick does not.
import { afterAll, describe, expect, it } from '@jest/globals';
import { thompsonAllocation } from './allocation.js';
import { plannedSamplesPerVariant, type ExperimentDesign } from './decision.js';
import { normalQuantile } from './normal.js';
import { addMoments, estimateDifference, NO_MOMENTS, type Moments } from './sequential.js';
import {
  median,
  normalBatch,
  seededRandom,
  simulateMany,
  wilsonBounds,
  type MetricTruth,
  type Outcome,
  type Scenario,
} from './simulate.js';

const RUNS = 1000;
// The headline A/A, power and naive-peeking runs use RUNS; the other checks, SIDE_RUNS, to keep the suite fast.
const SIDE_RUNS = 500;
const TICKS = 50;
const ALPHA = 0.05;
const POWER = 0.8;
const figures: string[] = [];

const SCORE = { mean: 0.7, sd: 0.25, mde: 0.02 };
const SUCCESS = { p: 0.6, mde: 0.05 };

function scoreDesign(treatments = ['b']): ExperimentDesign {
  const design: ExperimentDesign = {
    control: 'a',
    treatments,
    primary: { name: 'feedback-score', kind: 'mean', direction: 'higher-is-better', mde: SCORE.mde },
    guardrails: [],
    alpha: ALPHA,
    guardrailAlpha: ALPHA,
    power: POWER,
    minSamplesPerVariant: 100,
    maxSamplesPerVariant: 0,
    maxDurationMs: TICKS * 60_000,
  };
  return { ...design, maxSamplesPerVariant: plannedSamplesPerVariant(design, SCORE.mean, SCORE.sd) };
}

function scenario(design: ExperimentDesign, truth: Scenario['truth']): Scenario {
  const variants = 1 + design.treatments.length;
  return {
    design,
    truth,
    ticks: TICKS,
    tickMs: 60_000,
    perTick: variants * Math.ceil(design.maxSamplesPerVariant / TICKS),
  };
}

const score = (mean: number): Record<string, MetricTruth> => ({
  'feedback-score': { kind: 'normal', mean, sd: SCORE.sd },
});

function rate(
  outcomes: Outcome[],
  hit: (o: Outcome) => boolean,
  label: string,
): { rate: number; lower: number; upper: number } {
  const k = outcomes.filter(hit).length;
  const b = wilsonBounds(k, outcomes.length);
  figures.push(
    `${label}: ${k}/${outcomes.length} = ${(k / outcomes.length).toFixed(3)} (95% one-sided Wilson bounds ${b.lower.toFixed(3)}..${b.upper.toFixed(3)})`,
  );
  return { rate: k / outcomes.length, ...b };
}

afterAll(() => {
  console.log(
    `Experiment simulations, ${RUNS} or ${SIDE_RUNS} runs, ${TICKS} looks, α = ${ALPHA}, power = ${POWER}\n${figures.join('\n')}`,
  );
});

describe('sequential experiments in simulation', () => {
  it('keeps the false-positive rate of A/A runs peeked at every tick under α (mean metric)', () => {
    const s = scenario(scoreDesign(), { a: score(SCORE.mean), b: score(SCORE.mean) });
    const out = simulateMany(s, RUNS, 11);
    const fpr = rate(out, (o) => o.verdict === 'winner', 'A/A false positives, feedback score (mean)');
    const early = out.filter((o) => o.verdict === 'no-difference' && o.stoppedAt < TICKS);
    figures.push(
      `  A/A futility stops before the horizon: ${early.length}/${RUNS}, median stop at tick ${median(out.map((o) => o.stoppedAt))}`,
    );
    expect(fpr.upper).toBeLessThanOrEqual(ALPHA);
  });

  it('keeps the false-positive rate of A/A runs under α for a proportion', () => {
    const design = scoreDesign();
    const primary = {
      name: 'task-success',
      kind: 'proportion' as const,
      direction: 'higher-is-better' as const,
      mde: SUCCESS.mde,
    };
    const d0 = { ...design, primary };
    const d = { ...d0, maxSamplesPerVariant: plannedSamplesPerVariant(d0, SUCCESS.p) };
    const truth = { 'task-success': { kind: 'bernoulli' as const, p: SUCCESS.p } };
    const out = simulateMany(scenario(d, { a: truth, b: truth }), RUNS, 12);
    const fpr = rate(
      out,
      (o) => o.verdict === 'winner',
      `A/A false positives, task success (proportion, plan ${d.maxSamplesPerVariant}/variant)`,
    );
    expect(fpr.upper).toBeLessThanOrEqual(ALPHA);
  });

  it('keeps the family-wise false-positive rate under α with three treatments (Bonferroni)', () => {
    const design = scoreDesign(['b', 'c', 'd']);
    const same = score(SCORE.mean);
    const out = simulateMany(scenario(design, { a: same, b: same, c: same, d: same }), SIDE_RUNS, 13);
    const fpr = rate(out, (o) => o.verdict === 'winner', 'A/A/A/A family-wise false positives, 3 treatments');
    expect(fpr.upper).toBeLessThanOrEqual(ALPHA);
  });

  it('keeps the false-positive rate under α with Thompson-sampling allocation and a 20% floor', () => {
    const design = scoreDesign();
    const s: Scenario = {
      ...scenario(design, { a: score(SCORE.mean), b: score(SCORE.mean) }),
      allocate: (m, random) =>
        thompsonAllocation({
          arms: ['a', 'b'].map((v) => ({ variant: v, moments: m[v]?.['feedback-score'] ?? NO_MOMENTS })),
          kind: 'mean',
          direction: 'higher-is-better',
          floor: 0.2,
          random,
        }),
    };
    const out = simulateMany(s, SIDE_RUNS, 14);
    const fpr = rate(out, (o) => o.verdict === 'winner', 'A/A false positives under Thompson allocation');
    expect(fpr.upper).toBeLessThanOrEqual(ALPHA);
  });

  it('finds a true effect of the MDE with at least the declared power by the planned sample size', () => {
    const design = scoreDesign();
    const out = simulateMany(
      scenario(design, { a: score(SCORE.mean), b: score(SCORE.mean + SCORE.mde) }),
      RUNS,
      15,
    );
    const power = rate(
      out,
      (o) => o.verdict === 'winner' && o.winner === 'b',
      `Power at effect = MDE ${SCORE.mde}, plan ${design.maxSamplesPerVariant}/variant`,
    );
    const stops = out.filter((o) => o.verdict === 'winner').map((o) => o.samplesPerVariant);
    figures.push(
      `  median samples per variant at a win: ${median(stops)} (${((100 * median(stops)) / design.maxSamplesPerVariant).toFixed(0)}% of the plan)`,
    );
    expect(out.every((o) => o.verdict !== 'winner' || o.winner === 'b')).toBe(true);
    expect(power.rate).toBeGreaterThanOrEqual(POWER);
  });

  it('finds a true effect of the MDE in a proportion with the declared power', () => {
    const d0 = {
      ...scoreDesign(),
      primary: {
        name: 'task-success',
        kind: 'proportion' as const,
        direction: 'higher-is-better' as const,
        mde: SUCCESS.mde,
      },
    };
    const d = { ...d0, maxSamplesPerVariant: plannedSamplesPerVariant(d0, SUCCESS.p) };
    const truth = (p: number): Record<string, MetricTruth> => ({ 'task-success': { kind: 'bernoulli', p } });
    const out = simulateMany(
      scenario(d, { a: truth(SUCCESS.p), b: truth(SUCCESS.p + SUCCESS.mde) }),
      SIDE_RUNS,
      16,
    );
    const power = rate(
      out,
      (o) => o.verdict === 'winner' && o.winner === 'b',
      `Power at task-success +${SUCCESS.mde}, plan ${d.maxSamplesPerVariant}/variant`,
    );
    expect(power.rate).toBeGreaterThanOrEqual(POWER);
  });

  it('stops early for a guardrail breach and rarely raises a false alarm', () => {
    const latency = (mean: number): MetricTruth => ({ kind: 'normal', mean, sd: 400 });
    const design: ExperimentDesign = {
      ...scoreDesign(),
      guardrails: [
        { name: 'latency-ms', kind: 'mean', direction: 'lower-is-better', tolerance: 20, mde: 40 },
      ],
    };
    const truth = (lat: number): Record<string, MetricTruth> => ({
      ...score(SCORE.mean),
      'latency-ms': latency(lat),
    });
    const harmed = simulateMany(scenario(design, { a: truth(1000), b: truth(1100) }), SIDE_RUNS, 17);
    const caught = rate(
      harmed,
      (o) => o.verdict === 'guardrail-breach',
      'Guardrail breach caught, latency +100ms vs tolerance 20ms',
    );
    figures.push(`  median stop at tick ${median(harmed.map((o) => o.stoppedAt))} of ${TICKS}`);
    expect(caught.rate).toBeGreaterThanOrEqual(0.95);
    const fine = simulateMany(scenario(design, { a: truth(1000), b: truth(1000) }), SIDE_RUNS, 18);
    const alarms = rate(
      fine,
      (o) => o.verdict === 'guardrail-breach',
      'Guardrail false alarms, equal latency',
    );
    expect(alarms.upper).toBeLessThanOrEqual(ALPHA);
  });

  it('stops for futility before the horizon when variants are equal and the horizon is generous', () => {
    const base = scoreDesign();
    const design = { ...base, maxSamplesPerVariant: 2 * base.maxSamplesPerVariant };
    const out = simulateMany(scenario(design, { a: score(SCORE.mean), b: score(SCORE.mean) }), SIDE_RUNS, 19);
    const futile = rate(
      out,
      (o) => o.verdict === 'no-difference' && o.stoppedAt < TICKS,
      'Futility stops before a 2x-plan horizon, A/A',
    );
    figures.push(
      `  median samples per variant at a futility stop: ${median(out.filter((o) => o.stoppedAt < TICKS).map((o) => o.samplesPerVariant))}`,
    );
    expect(futile.rate).toBeGreaterThanOrEqual(0.8);
  });

  it('shows that a fixed-horizon z-test peeked at every tick inflates the false-positive rate far above α', () => {
    const random = seededRandom(20);
    const design = scoreDesign();
    const perVariant = Math.ceil(design.maxSamplesPerVariant / TICKS);
    const z = normalQuantile(1 - ALPHA / 2);
    let rejected = 0;
    for (let run = 0; run < RUNS; run++) {
      let a: Moments = NO_MOMENTS;
      let b: Moments = NO_MOMENTS;
      for (let tick = 0; tick < TICKS; tick++) {
        a = addMoments(a, normalBatch(random, perVariant, SCORE.mean, SCORE.sd));
        b = addMoments(b, normalBatch(random, perVariant, SCORE.mean, SCORE.sd));
        const est = estimateDifference(a, b, 'mean');
        if (
          est !== undefined &&
          a.count >= design.minSamplesPerVariant &&
          Math.abs(est.effect) / Math.sqrt(est.variance) > z
        ) {
          rejected++;
          break;
        }
      }
    }
    const naive = rejected / RUNS;
    const b = wilsonBounds(rejected, RUNS);
    figures.push(
      `Naive z-test at every tick, A/A: ${rejected}/${RUNS} = ${naive.toFixed(3)} (lower bound ${b.lower.toFixed(3)}) — ${(naive / ALPHA).toFixed(1)}x α`,
    );
    expect(b.lower).toBeGreaterThan(3 * ALPHA);
  });
});
