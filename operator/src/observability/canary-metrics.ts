// The rollout state of each Canary as Prometheus series: the weights the operator sets, the current step
// and phase, the figures of the last analysis window against the spec's bounds, and counts of verdicts,
// promotions and rollbacks. The canary controller reports after each tick and forgets a deleted Canary.
// Label values come from declared objects and fixed lists only, so the series stay bounded.
import { Counter, Gauge, type Registry } from 'prom-client';
import {
  CANARY_METRICS,
  CANARY_PHASES,
  Reason,
  type Canary,
  type CanaryStatus,
  type VariantFigures,
} from '../../../api/v1alpha1/index.js';
import type { Verdict } from '../rollout/analysis.js';
import { valueOf } from '../rollout/analysis.js';
import { isRolloutActive } from '../rollout/tick.js';
import { VARIANTS } from '../rollout/types.js';

const VERDICTS: readonly Verdict[] = ['passed', 'failed', 'inconclusive'];
/** The reasons the machine gives a rollback (its Ready condition's reason in the RolledBack phase). */
const ROLLBACK_REASONS = [Reason.RolledBack, Reason.Aborted, Reason.ProgressDeadlineExceeded] as const;
/** The analysis figures: each judged metric, and the request count that minRequests bounds. */
const FIGURES = ['requests', ...CANARY_METRICS] as const;
type Figure = (typeof FIGURES)[number];
const BOUNDS = ['max', 'min'] as const;

function figureOf(f: VariantFigures, figure: Figure): number | undefined {
  return figure === 'requests' ? f.requests : valueOf(figure, f);
}

/** What one tick of a Canary changed, as the controller saw it. */
export interface CanaryReport {
  /** The Canary, its spec with defaults applied. */
  canary: Canary;
  /** The status before the tick. */
  before: CanaryStatus | undefined;
  /** The status the tick wrote. */
  after: CanaryStatus;
  /** The verdict on the window judged in this tick, if one was. */
  verdict?: Verdict | undefined;
}

type Labels = { namespace: string; canary: string };

export class CanaryMetrics {
  readonly weight: Gauge<'namespace' | 'canary' | 'variant'>;
  readonly step: Gauge<'namespace' | 'canary'>;
  readonly phase: Gauge<'namespace' | 'canary' | 'phase'>;
  readonly analyses: Counter<'namespace' | 'canary' | 'verdict'>;
  readonly analysisValue: Gauge<'namespace' | 'canary' | 'variant' | 'metric'>;
  readonly analysisThreshold: Gauge<'namespace' | 'canary' | 'metric' | 'bound'>;
  readonly promotions: Counter<'namespace' | 'canary'>;
  readonly rollbacks: Counter<'namespace' | 'canary' | 'reason'>;

  /** `collect` runs before each scrape: it empties the series of a replica that does not lead. */
  constructor(registry: Registry, collect: (this: { reset(): void }) => Promise<void>) {
    const common = { registers: [registry], collect };
    this.weight = new Gauge({
      name: 'beastmode_canary_weight',
      help: "Percent of the canary backend's traffic the operator sends to each variant",
      labelNames: ['namespace', 'canary', 'variant'],
      ...common,
    });
    this.step = new Gauge({
      name: 'beastmode_canary_step',
      help: 'Current step of the rollout, counting from 1; 0 when no rollout is under way',
      labelNames: ['namespace', 'canary'],
      ...common,
    });
    this.phase = new Gauge({
      name: 'beastmode_canary_phase',
      help: "1 for the Canary's current phase, 0 for the others",
      labelNames: ['namespace', 'canary', 'phase'],
      ...common,
    });
    this.analyses = new Counter({
      name: 'beastmode_canary_analysis_total',
      help: 'Analysis windows judged, by verdict',
      labelNames: ['namespace', 'canary', 'verdict'],
      ...common,
    });
    this.analysisValue = new Gauge({
      name: 'beastmode_canary_analysis_value',
      help: 'Figures of the last analysis window by variant, in the units of spec.analysis.metrics (error-rate a fraction, latencies in ms, cost in USD)',
      labelNames: ['namespace', 'canary', 'variant', 'metric'],
      ...common,
    });
    this.analysisThreshold = new Gauge({
      name: 'beastmode_canary_analysis_threshold',
      help: 'Bounds the canary variant is judged against (metric requests: minRequests)',
      labelNames: ['namespace', 'canary', 'metric', 'bound'],
      ...common,
    });
    this.promotions = new Counter({
      name: 'beastmode_canary_promotions_total',
      help: 'Candidates promoted to stable',
      labelNames: ['namespace', 'canary'],
      ...common,
    });
    this.rollbacks = new Counter({
      name: 'beastmode_canary_rollbacks_total',
      help: 'Rollouts rolled back, by reason (RolledBack: analysis failed; Aborted; ProgressDeadlineExceeded)',
      labelNames: ['namespace', 'canary', 'reason'],
      ...common,
    });
  }

  /** The Canary's state after a tick, and the analyses, promotions and rollbacks the tick made. */
  report({ canary, before, after, verdict }: CanaryReport): void {
    const l: Labels = { namespace: canary.metadata.namespace ?? '', canary: canary.metadata.name };
    const w = after.canaryWeight ?? 0;
    this.weight.set({ ...l, variant: 'canary' }, w);
    this.weight.set({ ...l, variant: 'stable' }, 100 - w);
    this.step.set(l, isRolloutActive(after) ? (after.currentStep ?? 0) + 1 : 0);
    for (const phase of CANARY_PHASES) this.phase.set({ ...l, phase }, after.phase === phase ? 1 : 0);
    this.setThresholds(l, canary.spec.analysis);
    this.setFigures(l, after.lastAnalysis);
    // Counters start at 0 so that increase() sees a Canary's first verdict, promotion or rollback.
    for (const v of VERDICTS) this.analyses.inc({ ...l, verdict: v }, v === verdict ? 1 : 0);
    this.promotions.inc(l, 0);
    for (const reason of ROLLBACK_REASONS) this.rollbacks.inc({ ...l, reason }, 0);
    if (before?.phase === 'Promoting' && after.phase === 'Succeeded') this.promotions.inc(l);
    if (before?.phase !== 'RolledBack' && after.phase === 'RolledBack') {
      const reason = after.conditions?.find((c) => c.type === 'Ready')?.reason;
      const known = ROLLBACK_REASONS.find((r) => r === reason) ?? Reason.RolledBack;
      this.rollbacks.inc({ ...l, reason: known });
    }
  }

  /** Removes every series of a Canary (it was deleted). */
  forget(namespace: string, name: string): void {
    const l: Labels = { namespace, canary: name };
    for (const variant of VARIANTS) this.weight.remove({ ...l, variant });
    this.step.remove(l);
    for (const phase of CANARY_PHASES) this.phase.remove({ ...l, phase });
    for (const verdict of VERDICTS) this.analyses.remove({ ...l, verdict });
    this.setThresholds(l, undefined);
    this.setFigures(l, undefined);
    this.promotions.remove(l);
    for (const reason of ROLLBACK_REASONS) this.rollbacks.remove({ ...l, reason });
  }

  private setThresholds(l: Labels, analysis: Canary['spec']['analysis'] | undefined): void {
    for (const metric of FIGURES)
      for (const bound of BOUNDS) this.analysisThreshold.remove({ ...l, metric, bound });
    if (analysis === undefined) return;
    this.analysisThreshold.set({ ...l, metric: 'requests', bound: 'min' }, analysis.minRequests);
    for (const m of analysis.metrics) {
      if (m.max !== undefined) this.analysisThreshold.set({ ...l, metric: m.name, bound: 'max' }, m.max);
      if (m.min !== undefined) this.analysisThreshold.set({ ...l, metric: m.name, bound: 'min' }, m.min);
    }
  }

  /** The last window's figures as the status holds them: a figure the window lacked has no series. */
  private setFigures(l: Labels, last: CanaryStatus['lastAnalysis']): void {
    for (const variant of VARIANTS) {
      const f = last?.[variant];
      for (const metric of FIGURES) {
        const v = f === undefined ? undefined : figureOf(f, metric);
        if (v === undefined) this.analysisValue.remove({ ...l, variant, metric });
        else this.analysisValue.set({ ...l, variant, metric }, v);
      }
    }
  }
}
