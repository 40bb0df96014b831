// What the dashboard shows of an Experiment, built field by field like the other views: the variants by
// name and backend (never their request templates, which may hold a system prompt), the current split, the
// samples and means of the experiment's own metrics, the comparisons with the control, the verdict and
// whether a manual promotion is waiting. Pure: no clock, no I/O.
import {
  EXPERIMENT_METRIC_INFO,
  EXPERIMENT_METRICS,
  type Experiment,
  type ExperimentMetricName,
} from '../../../api/v1alpha1/index.js';
import { base, clip, type BaseView } from './views.js';

export interface ExperimentVariantView {
  name: string;
  backend: string;
  control: boolean;
  /** Current share of subjects (0–1) from the status; undefined before the first tick. */
  weight: number | undefined;
  /** Samples per metric (the experiment's metrics only). */
  samples: Partial<Record<ExperimentMetricName, number>>;
  means: Partial<Record<ExperimentMetricName, number>>;
}

export interface ExperimentComparisonView {
  variant: string;
  standing: string;
  improvement: number | undefined;
  lower: number | undefined;
  upper: number | undefined;
  pValue: number | undefined;
  breaches: string[];
}

export interface ExperimentView extends BaseView {
  kind: 'experiment';
  route: string;
  phase: string;
  verdict: string | undefined;
  winner: string | undefined;
  promotedVariant: string | undefined;
  promotion: 'auto' | 'manual' | 'none';
  promote: string | undefined;
  abort: boolean;
  subject: string;
  allocation: string;
  alpha: number;
  primary: {
    metric: ExperimentMetricName;
    direction: string;
    minimumDetectableEffect: number;
    minimumEffect: number;
  };
  guardrails: { metric: ExperimentMetricName; tolerance: number; direction: string }[];
  /** The primary metric, then each guardrail's once: the columns of the samples table. */
  metrics: ExperimentMetricName[];
  variants: ExperimentVariantView[];
  comparisons: ExperimentComparisonView[];
  plannedSamplesPerVariant: number | undefined;
  /** Samples of the primary metric in the variant that has the fewest. */
  collectedSamplesPerVariant: number;
  reasons: string[];
  message: string | undefined;
  startedAt: string | undefined;
  decidedAt: string | undefined;
  /** Concluded with a winner, waiting for spec.promote (promotion manual): the page offers the button. */
  awaitingPromotion: boolean;
}

const KNOWN: ReadonlySet<string> = new Set(EXPERIMENT_METRICS);

/** Only the experiment's known metric names, and only finite numbers, from a status record. */
function figuresOf<T>(
  record: Record<string, T> | undefined,
  value: (t: T) => number | undefined,
): Partial<Record<ExperimentMetricName, number>> {
  const out: Partial<Record<ExperimentMetricName, number>> = {};
  for (const [k, v] of Object.entries(record ?? {})) {
    const n = value(v);
    if (KNOWN.has(k) && n !== undefined && Number.isFinite(n)) out[k as ExperimentMetricName] = n;
  }
  return out;
}

/** The spec's variants in order (the control first) with what the status says of each. */
function variantViews(e: Experiment): ExperimentVariantView[] {
  const byName = new Map((e.status?.variants ?? []).map((v) => [v.name, v]));
  return e.spec.variants.map((v, i) => {
    const live = byName.get(v.name);
    return {
      name: v.name,
      backend: v.backend,
      control: i === 0,
      weight: live?.weight,
      samples: figuresOf(live?.moments, (m) => m.count),
      means: figuresOf(live?.mean, (m) => m),
    };
  });
}

export function experimentView(e: Experiment): ExperimentView {
  const s = e.spec;
  const st = e.status ?? {};
  const primary = s.primary.metric;
  const guardrails = (s.guardrails ?? []).map((g) => ({
    metric: g.metric,
    tolerance: g.tolerance,
    direction: EXPERIMENT_METRIC_INFO[g.metric].direction,
  }));
  const metrics = [...new Set([primary, ...guardrails.map((g) => g.metric)])];
  const variants = variantViews(e);
  const counts = variants.map((v) => v.samples[primary] ?? 0);
  const promotion = s.promotion ?? 'manual';
  return {
    ...base('experiment', e),
    route: s.routeRef.name,
    phase: st.phase ?? 'Pending',
    verdict: st.verdict,
    winner: st.winner,
    promotedVariant: st.promotedVariant,
    promotion,
    promote: s.promote,
    abort: s.abort ?? false,
    subject: s.subject ?? 'user',
    allocation: s.allocation?.mode ?? 'fixed',
    alpha: s.alpha ?? 0.05,
    primary: {
      metric: primary,
      direction: EXPERIMENT_METRIC_INFO[primary].direction,
      minimumDetectableEffect: s.primary.minimumDetectableEffect,
      minimumEffect: s.primary.minimumEffect ?? 0,
    },
    guardrails,
    metrics,
    variants,
    comparisons: (st.comparisons ?? []).map((c) => ({
      variant: c.variant,
      standing: c.standing,
      improvement: c.improvement,
      lower: c.lower,
      upper: c.upper,
      pValue: c.pValue,
      breaches: (c.breaches ?? []).map(clip),
    })),
    plannedSamplesPerVariant: st.plannedSamplesPerVariant,
    collectedSamplesPerVariant: counts.length === 0 ? 0 : Math.min(...counts),
    reasons: (st.reasons ?? []).map(clip),
    message: st.message === undefined ? undefined : clip(st.message),
    startedAt: st.startedAt,
    decidedAt: st.decidedAt,
    awaitingPromotion:
      st.phase === 'Concluded' && st.winner !== undefined && promotion === 'manual' && !s.abort,
  };
}
