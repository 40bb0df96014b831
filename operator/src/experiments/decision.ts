// The verdict of an A/B experiment at one tick: winner, no difference, guardrail breach, or continue. Pure
// and stateless: it reads cumulative per-variant moments since the experiment began, so a restarted
// controller reaches the same verdict, and the always-valid tests in sequential.ts make it safe to ask at
// every tick. Every treatment is compared with the control; the family-wise error over treatments (and, for
// guardrails, over treatments × guardrails) is held with Bonferroni — see docs/experiments.md for why not
// Dunnett or a Holm step-down.
import {
  designTest,
  NO_MOMENTS,
  planSampleSize,
  runSequentialTest,
  type Direction,
  type MetricKind,
  type Moments,
  type SequentialResult,
  type TestDesign,
} from './sequential.js';

export interface MetricSpec {
  /** The key of the metric in the observed moments, e.g. `feedback-score`, `cost-per-request`. */
  name: string;
  kind: MetricKind;
  direction: Direction;
}

export interface PrimaryMetric extends MetricSpec {
  /** The smallest improvement worth detecting, in the metric's units (absolute). Sets the mixture and the futility band. */
  mde: number;
  /** A winner's improvement must clear this lower bound too (0: any significant improvement). */
  minimumEffect?: number;
}

export interface GuardrailMetric extends MetricSpec {
  /** How much worse than control, in the metric's units, is still acceptable. */
  tolerance: number;
  /** The degradation beyond the tolerance the guardrail must catch: sets its mixture. */
  mde: number;
}

export interface ExperimentDesign {
  control: string;
  treatments: string[];
  primary: PrimaryMetric;
  guardrails: GuardrailMetric[];
  /** Family-wise false-positive rate of the primary comparison, over all treatments. */
  alpha: number;
  /** Family-wise false-alarm rate of guardrails, over all treatments and guardrails. */
  guardrailAlpha: number;
  power: number;
  /** No verdict for a variant before it and the control have this many observations of a metric. */
  minSamplesPerVariant: number;
  /** Stop with no difference once every variant has this many observations of the primary metric. */
  maxSamplesPerVariant: number;
  maxDurationMs: number;
}

export interface Observation {
  elapsedMs: number;
  /** variant → metric name → cumulative moments since the experiment began. */
  moments: Record<string, Record<string, Moments>>;
}

export type Verdict = 'continue' | 'winner' | 'no-difference' | 'guardrail-breach';
/** The primary comparison of one treatment with the control. */
export type Standing = 'collecting' | 'undecided' | 'better' | 'worse' | 'equivalent';

/** A comparison in the "good" orientation: a positive improvement is a better treatment. */
export interface Comparison extends SequentialResult {
  improvement: number;
  improvementLower: number;
  improvementUpper: number;
}

export interface TreatmentAssessment {
  variant: string;
  standing: Standing;
  primary?: Comparison;
  guardrails: Record<string, Comparison>;
  breaches: string[];
}

export interface ExperimentDecision {
  verdict: Verdict;
  /** The variant to promote when the verdict is `winner` (the control when every treatment is worse). */
  winner?: string;
  /** One line per reason, for status and Events. */
  reasons: string[];
  treatments: TreatmentAssessment[];
}

function momentsFor(obs: Observation, variant: string, metric: string): Moments {
  return obs.moments[variant]?.[metric] ?? NO_MOMENTS;
}

function orient(result: SequentialResult, direction: Direction): Comparison {
  const sign = direction === 'higher-is-better' ? 1 : -1;
  const a = sign * result.lower;
  const b = sign * result.upper;
  return {
    ...result,
    improvement: sign * result.effect,
    improvementLower: Math.min(a, b),
    improvementUpper: Math.max(a, b),
  };
}

function compare(
  design: ExperimentDesign,
  obs: Observation,
  variant: string,
  metric: MetricSpec,
  test: TestDesign,
): Comparison | undefined {
  const control = momentsFor(obs, design.control, metric.name);
  const treatment = momentsFor(obs, variant, metric.name);
  if (control.count < design.minSamplesPerVariant || treatment.count < design.minSamplesPerVariant)
    return undefined;
  const result = runSequentialTest(control, treatment, metric.kind, test);
  return result === undefined ? undefined : orient(result, metric.direction);
}

function standingOf(c: Comparison | undefined, primary: PrimaryMetric): Standing {
  if (c === undefined) return 'collecting';
  if (c.improvementLower > (primary.minimumEffect ?? 0)) return 'better';
  if (c.improvementUpper < 0) return 'worse';
  // Futility: the sequence excludes any effect as large as the MDE in either direction.
  if (c.improvementLower > -primary.mde && c.improvementUpper < primary.mde) return 'equivalent';
  return 'undecided';
}

const fmt = (v: number): string => String(Number(v.toPrecision(3)));

function assessTreatment(
  design: ExperimentDesign,
  obs: Observation,
  variant: string,
  tests: Tests,
): TreatmentAssessment {
  const primary = compare(design, obs, variant, design.primary, tests.primary);
  const guardrails: Record<string, Comparison> = {};
  const breaches: string[] = [];
  design.guardrails.forEach((g, i) => {
    const c = compare(design, obs, variant, g, tests.guardrails[i] as TestDesign);
    if (c === undefined) return;
    guardrails[g.name] = c;
    // Breach: the whole sequence says the treatment is worse by more than the tolerance.
    if (-c.improvementUpper > g.tolerance) {
      breaches.push(
        `${variant}: ${g.name} worse than ${design.control} by ${fmt(-c.improvementUpper)} to ${fmt(-c.improvementLower)}, tolerance ${fmt(g.tolerance)}`,
      );
    }
  });
  const assessment: TreatmentAssessment = {
    variant,
    standing: standingOf(primary, design.primary),
    guardrails,
    breaches,
  };
  if (primary !== undefined) assessment.primary = primary;
  return assessment;
}

interface Tests {
  primary: TestDesign;
  guardrails: TestDesign[];
}

/** The mixtures and corrected levels of every comparison: fixed by the design, never by the data. */
export function designTests(design: ExperimentDesign): Tests {
  const k = Math.max(1, design.treatments.length);
  const g = Math.max(1, design.guardrails.length);
  return {
    primary: designTest(design.primary.mde, design.alpha / k, design.power),
    guardrails: design.guardrails.map((m) =>
      designTest(m.mde, design.guardrailAlpha / (k * g), design.power),
    ),
  };
}

function describe(a: TreatmentAssessment, control: string, metric: string): string {
  const c = a.primary;
  if (c === undefined) return `${a.variant}: collecting ${metric} samples`;
  return `${a.variant} vs ${control}: ${metric} improvement ${fmt(c.improvement)} (${fmt(c.improvementLower)} to ${fmt(c.improvementUpper)}), p=${fmt(c.pValue)}`;
}

function horizonReached(design: ExperimentDesign, obs: Observation): boolean {
  if (obs.elapsedMs >= design.maxDurationMs) return true;
  return [design.control, ...design.treatments].every(
    (v) => momentsFor(obs, v, design.primary.name).count >= design.maxSamplesPerVariant,
  );
}

/** One tick's verdict. Guardrails first: harm stops the experiment even while the primary is undecided. */
export function decideExperiment(
  design: ExperimentDesign,
  obs: Observation,
  tests = designTests(design),
): ExperimentDecision {
  const treatments = design.treatments.map((v) => assessTreatment(design, obs, v, tests));
  const breaches = treatments.flatMap((t) => t.breaches);
  if (breaches.length > 0) return { verdict: 'guardrail-breach', reasons: breaches, treatments };
  const lines = treatments.map((t) => describe(t, design.control, design.primary.name));
  const better = treatments.filter((t) => t.standing === 'better');
  if (better.length > 0) {
    // Each "better" is a valid claim against the control; among several, promote the one whose improvement
    // is surely largest (the highest lower bound). That is a choice, not a test that it beats the others.
    const best = better.reduce((a, b) =>
      (b.primary?.improvementLower ?? 0) > (a.primary?.improvementLower ?? 0) ? b : a,
    );
    return { verdict: 'winner', winner: best.variant, reasons: lines, treatments };
  }
  if (treatments.length > 0 && treatments.every((t) => t.standing === 'worse')) {
    return { verdict: 'winner', winner: design.control, reasons: lines, treatments };
  }
  if (
    treatments.length > 0 &&
    treatments.every((t) => t.standing === 'worse' || t.standing === 'equivalent')
  ) {
    return {
      verdict: 'no-difference',
      reasons: [
        `no treatment differs from ${design.control} by the MDE ${fmt(design.primary.mde)}`,
        ...lines,
      ],
      treatments,
    };
  }
  if (horizonReached(design, obs)) {
    return {
      verdict: 'no-difference',
      reasons: ['maximum duration or sample size reached', ...lines],
      treatments,
    };
  }
  return { verdict: 'continue', reasons: lines, treatments };
}

/** "Needs ~N per variant": the primary metric's plan at the corrected level, for docs and status. */
export function plannedSamplesPerVariant(
  design: ExperimentDesign,
  baseline: number,
  stdDev?: number,
): number {
  const opts = {
    kind: design.primary.kind,
    mde: design.primary.mde,
    alpha: design.alpha / Math.max(1, design.treatments.length),
    power: design.power,
    baseline,
  };
  return planSampleSize(stdDev === undefined ? opts : { ...opts, stdDev }).perVariant;
}
