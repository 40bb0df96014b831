// From an Experiment's spec to what the statistical core takes: the test design (metric kinds and directions,
// guardrail MDEs, the maximum sample size), the planned sample size, the split of the next batch, and the
// hash of everything the moments belong to. Pure.
import { createHash } from 'node:crypto';
import { EXPERIMENT_METRIC_INFO, durationMs, type ExperimentSpec } from '../../../api/v1alpha1/index.js';
import { applyFloor, fixedAllocation, thompsonAllocation, type Weights } from './allocation.js';
import { plannedSamplesPerVariant, type ExperimentDesign } from './decision.js';
import { meanOf, NO_MOMENTS, varianceOf, type Moments } from './sequential.js';

/** variant → metric → cumulative moments. */
export type MomentsByVariant = Record<string, Record<string, Moments>>;

/** Guardrail degradation to catch when the spec declares none: the tolerance, or 0.01 for a zero tolerance. */
const DEFAULT_GUARDRAIL_MDE = 0.01;

/**
 * Hash of what the moments belong to: variants (backends, templates, weights), subject, primary metric and
 * guardrails. A change restarts the experiment, so moments of different designs never mix.
 */
export function specHashOf(spec: ExperimentSpec): string {
  const basis = JSON.stringify({
    variants: spec.variants,
    subject: spec.subject,
    primary: spec.primary,
    guardrails: spec.guardrails,
  });
  return createHash('sha256').update(basis).digest('hex').slice(0, 16);
}

const momentsOf = (moments: MomentsByVariant, variant: string, metric: string): Moments =>
  moments[variant]?.[metric] ?? NO_MOMENTS;

/**
 * "Needs ~N per variant" for the primary metric: from the declared baseline rate or standard deviation, else
 * from the control's own data once it has the minimum samples (a proportion falls back to 0.5, the widest);
 * undefined for a mean metric with neither.
 */
export function plannedFor(
  spec: ExperimentSpec,
  design: ExperimentDesign,
  moments: MomentsByVariant,
): number | undefined {
  const control = momentsOf(moments, design.control, design.primary.name);
  const observed = control.count >= spec.minSamplesPerVariant;
  if (design.primary.kind === 'proportion') {
    const baseline = spec.primary.baseline ?? (observed ? meanOf(control) : 0.5);
    return plannedSamplesPerVariant(design, Math.min(1, Math.max(0, baseline)));
  }
  const sd =
    spec.primary.standardDeviation ?? (observed ? Math.sqrt(varianceOf(control, 'mean')) : undefined);
  if (sd === undefined || !(sd > 0)) return undefined;
  return plannedSamplesPerVariant(design, 0, sd);
}

/** The design the core tests with, and the planned sample size it shows in status. */
export function designOf(
  spec: ExperimentSpec,
  moments: MomentsByVariant,
): { design: ExperimentDesign; planned: number | undefined } {
  const [control, ...treatments] = spec.variants.map((v) => v.name);
  const p = spec.primary;
  const design: ExperimentDesign = {
    control: control ?? '',
    treatments,
    primary: {
      name: p.metric,
      ...EXPERIMENT_METRIC_INFO[p.metric],
      mde: p.minimumDetectableEffect,
      minimumEffect: p.minimumEffect,
    },
    guardrails: spec.guardrails.map((g) => ({
      name: g.metric,
      ...EXPERIMENT_METRIC_INFO[g.metric],
      tolerance: g.tolerance,
      mde: g.minimumDetectableEffect ?? (g.tolerance > 0 ? g.tolerance : DEFAULT_GUARDRAIL_MDE),
    })),
    alpha: spec.alpha,
    guardrailAlpha: spec.guardrailAlpha,
    power: spec.power,
    minSamplesPerVariant: spec.minSamplesPerVariant,
    maxSamplesPerVariant: Number.POSITIVE_INFINITY,
    maxDurationMs: durationMs(spec.maxDuration),
  };
  const planned = plannedFor(spec, design, moments);
  design.maxSamplesPerVariant =
    spec.maxSamplesPerVariant ??
    (planned !== undefined ? Math.max(planned, spec.minSamplesPerVariant) : Number.POSITIVE_INFINITY);
  return { design, planned };
}

/**
 * The split of the next batch. Fixed: the declared weights. Thompson: the declared weights (with the floor)
 * until every variant has the minimum samples of the primary metric, then each variant's posterior
 * probability of being best, raised to the floor. Computed once per tick, so the split of a batch depends
 * only on data seen before it (the condition the always-valid test needs).
 */
export function nextSplit(spec: ExperimentSpec, moments: MomentsByVariant, random: () => number): Weights {
  const declared = Object.fromEntries(spec.variants.map((v) => [v.name, v.weight]));
  if (spec.allocation.mode === 'fixed') return fixedAllocation(declared);
  const floor = Math.min(spec.allocation.floor, 1 / spec.variants.length);
  const metric = spec.primary.metric;
  const arms = spec.variants.map((v) => ({ variant: v.name, moments: momentsOf(moments, v.name, metric) }));
  if (arms.some((a) => a.moments.count < spec.minSamplesPerVariant)) return applyFloor(declared, floor);
  return thompsonAllocation({ arms, ...EXPERIMENT_METRIC_INFO[metric], floor, random });
}
