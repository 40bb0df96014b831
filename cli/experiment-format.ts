// Renders an Experiment for `beastmode experiment status`: phase, verdict, the planned and collected samples,
// one row per variant (share of subjects, samples and mean of each metric), one row per treatment's
// comparison with the control (improvement, always-valid interval, p-value, standing, breaches), the
// reasons and the conditions. Pure: takes the object and the time, returns text.
import { EXPERIMENT_METRIC_INFO, type Experiment, type ExperimentMetricName } from '../api/v1alpha1/index.js';
import { age, num, table } from './format.js';

const signed = (v: number | undefined): string => (v === undefined ? '-' : `${v > 0 ? '+' : ''}${num(v, 3)}`);

/** The metrics the experiment measures: the primary first, then each guardrail's once. */
export function experimentMetrics(e: Experiment): ExperimentMetricName[] {
  const all = [e.spec.primary.metric, ...(e.spec.guardrails ?? []).map((g) => g.metric)];
  return [...new Set(all)];
}

/** Samples of the primary metric in the variant that has the fewest, against the planned size. */
export function samplesProgress(e: Experiment): { collected: number; planned: number | undefined } {
  const metric = e.spec.primary.metric;
  const counts = (e.status?.variants ?? []).map((v) => v.moments?.[metric]?.count ?? 0);
  return {
    collected: counts.length === 0 ? 0 : Math.min(...counts),
    planned: e.status?.plannedSamplesPerVariant,
  };
}

function header(e: Experiment, now: Date): string[] {
  const st = e.status ?? {};
  const primary = e.spec.primary.metric;
  const direction = EXPERIMENT_METRIC_INFO[primary].direction.replace(/-/g, ' ');
  const { collected, planned } = samplesProgress(e);
  const progress =
    planned !== undefined && planned > 0
      ? `${collected} of ${planned} planned per variant (${Math.min(100, Math.round((collected / planned) * 100))}%)`
      : `${collected} per variant (no planned size yet)`;
  const promotion = e.spec.promotion ?? 'manual';
  const verdict =
    st.verdict === undefined
      ? '-'
      : `${st.verdict}${st.winner !== undefined ? ` (winner ${st.winner})` : ''}`;
  const lines = [
    `Experiment:  ${e.metadata.namespace ?? 'default'}/${e.metadata.name}  (route ${e.spec.routeRef.name}, subject ${e.spec.subject ?? 'user'})`,
    `Phase:       ${st.phase ?? 'Pending'}${e.spec.abort ? ', ABORT set' : ''}`,
    `Primary:     ${primary} (${direction}), MDE ${e.spec.primary.minimumDetectableEffect}, alpha ${e.spec.alpha ?? 0.05}`,
    `Verdict:     ${verdict}`,
    `Promotion:   ${promotion}${e.spec.promote !== undefined ? `, promote ${e.spec.promote}` : ''}${st.promotedVariant !== undefined ? `; ${st.promotedVariant} serves everyone` : ''}`,
    `Samples:     ${progress} (primary metric, fewest in a variant)`,
    `Started:     ${age(st.startedAt, now)} ago, last tick ${age(st.lastTickAt, now)} ago${st.decidedAt !== undefined ? `, decided ${age(st.decidedAt, now)} ago` : ''}`,
  ];
  if (st.message) lines.push(`Message:     ${st.message}`);
  return lines;
}

function variantRows(e: Experiment, metrics: ExperimentMetricName[]): string[] {
  const control = e.spec.variants[0]?.name;
  const backends = new Map(e.spec.variants.map((v) => [v.name, v.backend]));
  const rows = [
    ['VARIANT', 'BACKEND', 'SHARE', ...metrics.flatMap((m) => [`N ${m}`, `MEAN ${m}`])],
    ...(e.status?.variants ?? []).map((v) => [
      v.name === control ? `${v.name} (control)` : v.name,
      backends.get(v.name) ?? '-',
      `${num(v.weight * 100, 3)}%`,
      ...metrics.flatMap((m) => [String(v.moments?.[m]?.count ?? 0), num(v.mean?.[m], 4)]),
    ]),
  ];
  return table(rows).map((l) => `  ${l}`);
}

function comparisonRows(e: Experiment): string[] {
  const rows = [
    ['TREATMENT', 'STANDING', 'IMPROVEMENT', 'INTERVAL (ALWAYS VALID)', 'P-VALUE', 'BREACHES'],
    ...(e.status?.comparisons ?? []).map((c) => [
      c.variant,
      c.standing,
      signed(c.improvement),
      c.lower === undefined && c.upper === undefined ? '-' : `[${signed(c.lower)}, ${signed(c.upper)}]`,
      num(c.pValue, 3),
      c.breaches?.length ? c.breaches.join('; ') : '-',
    ]),
  ];
  return table(rows).map((l) => `  ${l}`);
}

export function formatExperimentStatus(e: Experiment, now: Date): string {
  const st = e.status ?? {};
  const metrics = experimentMetrics(e);
  const lines = header(e, now);
  if ((st.variants ?? []).length > 0) lines.push('', 'Variants:', ...variantRows(e, metrics));
  if ((st.comparisons ?? []).length > 0) {
    lines.push(
      '',
      `Comparisons with ${e.spec.variants[0]?.name ?? 'the control'} on ${e.spec.primary.metric} (improvement in the better direction):`,
      ...comparisonRows(e),
    );
  }
  const guardrails = e.spec.guardrails ?? [];
  if (guardrails.length > 0)
    lines.push('', `Guardrails:  ${guardrails.map((g) => `${g.metric} within ${g.tolerance}`).join(', ')}`);
  if ((st.reasons ?? []).length > 0) lines.push('', 'Reasons:', ...(st.reasons ?? []).map((r) => `  - ${r}`));
  const conds = st.conditions ?? [];
  if (conds.length > 0) {
    const rows = [
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      ...conds.map((k) => [k.type, k.status, k.reason, age(k.lastTransitionTime, now), k.message]),
    ];
    lines.push('', 'Conditions:', ...table(rows).map((l) => `  ${l}`));
  }
  return lines.join('\n') + '\n';
}
