// Rate measurements. A sweep runs fixed-rate steps of rising rate, each exactly once and kept as measured;
// its rule says which steps pass and at which step the sweep ends. The closed loop measures requests/s at a
// fixed concurrency: the CPU cost per request, less sensitive to latency spikes than a p99 bound.
import { closedLoop, type RateResult, type Target } from '../lib/loadgen.js';
import type { FixedRateGenerator } from './generator.js';
import type { TargetPools } from './latency.js';

export interface SweepRule {
  /** What a passing step is, in words, for the report. */
  description: string;
  passes(r: RateResult): boolean;
  /** Whether the sweep goes on to the next rate after this step. */
  goesOn(r: RateResult): boolean;
}

export interface Step extends RateResult {
  passed: boolean;
}

/** Passes with p99 under the bound and no errors; the sweep ends at the first step that does not pass. */
export function latencyBoundRule(p99Ms: number): SweepRule {
  const passes = (r: RateResult) => r.errors === 0 && r.p99 < p99Ms;
  return {
    description: `passes with p99 < ${p99Ms} ms and 0 errors; a sweep ends at its first failing step`,
    passes,
    goesOn: passes,
  };
}

const keepsUp = (r: RateResult) => r.errors === 0 && r.achieved >= r.rate * 0.95;

/**
 * Passes with p99 under the bound, no errors and at least 95% of the rate achieved; the sweep goes on past
 * a step that fails on p99 alone (one stall of the shared machine) and ends at lost requests or capacity.
 */
export function capacityRule(p99Ms: number): SweepRule {
  return {
    description:
      `passes with p99 < ${p99Ms} ms, 0 errors and ≥ 95% of the rate achieved; ` +
      'a sweep ends at the first step with errors or under 95% achieved',
    passes: (r) => keepsUp(r) && r.p99 < p99Ms,
    goesOn: keepsUp,
  };
}

/** Runs the steps in order, each once, pausing `settle` between steps; returns every step run. */
export async function sweep(
  rates: readonly number[],
  runStep: (rate: number) => Promise<RateResult>,
  rule: SweepRule,
  settle: () => Promise<void>,
): Promise<Step[]> {
  const steps: Step[] = [];
  for (const [i, rate] of rates.entries()) {
    if (i > 0) await settle();
    const r = await runStep(rate);
    steps.push({ ...r, passed: rule.passes(r) });
    if (!rule.goesOn(r)) break;
  }
  return steps;
}

/** The step with the highest rate that passed, or undefined when none did. */
export function largestPassing(steps: readonly Step[]): Step | undefined {
  return steps
    .filter((s) => s.passed)
    .reduce<Step | undefined>((b, s) => (b && b.rate >= s.rate ? b : s), undefined);
}

export const pause = (ms: number) => (): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface SweepPlan {
  rates: readonly number[];
  seconds: number;
  rule: SweepRule;
}

/** One sweep per target, one target after the other. */
export async function sweepTargets(
  targets: readonly Target[],
  pools: TargetPools,
  generator: FixedRateGenerator,
  plan: SweepPlan,
): Promise<Map<string, Step[]>> {
  const out = new Map<string, Step[]>();
  for (const t of targets) {
    const run = (rate: number) => generator.step(pools.of(t), t, rate, plan.seconds);
    out.set(t.name, await sweep(plan.rates, run, plan.rule, pause(300)));
  }
  return out;
}

export interface Throughput {
  rps: number;
  errors: number;
}

/** Closed loop at `concurrency` for `seconds`, one target after the other. */
export async function closedLoops(
  targets: readonly Target[],
  pools: TargetPools,
  concurrency: number,
  seconds: number,
): Promise<Map<string, Throughput>> {
  const out = new Map<string, Throughput>();
  for (const t of targets) out.set(t.name, await closedLoop(pools.of(t), t, concurrency, seconds));
  return out;
}
