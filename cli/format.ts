// Renders a Canary for `beastmode canary status`: phase, step, weight, per-variant figures, conditions.
// Pure: takes the object and the time, returns text.
import type { Canary, VariantFigures } from '../api/v1alpha1/index.js';

export function age(iso: string | undefined, now: Date): string {
  if (iso === undefined) return '-';
  const s = Math.max(0, Math.round((now.getTime() - new Date(iso).getTime()) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${Math.round(s / 3600)}h`;
}

export const num = (v: number | undefined, digits = 4): string =>
  v === undefined ? '-' : String(Number(v.toPrecision(digits)));

function figuresRow(name: string, f: VariantFigures | undefined): string[] {
  return [
    name,
    f ? String(f.requests) : '-',
    f?.errorRate !== undefined ? `${num(f.errorRate * 100, 3)}%` : '-',
    f?.latencyP95Ms !== undefined ? `${num(f.latencyP95Ms, 4)}ms` : '-',
    f?.ttftP95Ms !== undefined ? `${num(f.ttftP95Ms, 4)}ms` : '-',
    f?.costPerRequest !== undefined ? `$${num(f.costPerRequest, 3)}` : '-',
    num(f?.feedbackScore, 3),
  ];
}

export function table(rows: string[][]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd(),
  );
}

function boundsOf(c: Canary): string {
  return c.spec.analysis.metrics
    .map((m) => (m.max !== undefined ? `${m.name} <= ${m.max}` : `${m.name} >= ${m.min ?? '?'}`))
    .join(', ');
}

function header(c: Canary, now: Date): string[] {
  const st = c.status ?? {};
  const steps = c.spec.steps;
  const step =
    st.currentStep !== undefined ? `${st.currentStep + 1}/${steps.length} (${steps.join(' → ')})` : '-';
  const lines = [
    `Canary:      ${c.metadata.namespace ?? 'default'}/${c.metadata.name}  (route ${c.spec.routeRef.name}, backend ${c.spec.backend})`,
    `Phase:       ${st.phase ?? 'Pending'}`,
    `Weight:      ${st.canaryWeight ?? 0}% to the candidate`,
    `Step:        ${step}`,
    `Stable:      ${st.stableRevision ?? '-'}${st.stableBackend?.model ? ` (model ${st.stableBackend.model})` : ''}`,
    `Candidate:   ${st.candidateRevision ?? '-'}${st.candidateBackend?.model ? ` (model ${st.candidateBackend.model})` : ''}`,
  ];
  if (st.rolledBackRevision) lines.push(`Rolled back: ${st.rolledBackRevision}`);
  const promotion = c.spec.promotion?.mode ?? 'auto';
  lines.push(
    `Promotion:   ${promotion}${promotion === 'manual' ? `, approved ${c.spec.promotion?.approvedRevision ?? '-'}` : ''}${c.spec.abort ? ', ABORT set' : ''}`,
    `Analysis:    every ${c.spec.interval}, min ${c.spec.analysis.minRequests} canary requests, rollback after ${c.spec.analysis.failureThreshold} failed windows; ${boundsOf(c)}`,
    `Windows:     failed ${st.failedWindows ?? 0}, inconclusive ${st.inconclusiveWindows ?? 0}; step started ${age(st.stepStartedAt, now)} ago, last analysis ${age(st.lastAnalysisAt, now)} ago`,
  );
  return lines;
}

export function formatCanaryStatus(c: Canary, now: Date): string {
  const st = c.status ?? {};
  const lines = header(c, now);
  const la = st.lastAnalysis;
  if (la) {
    lines.push('', `Last window: ${la.verdict}`);
    const rows = [
      ['VARIANT', 'REQUESTS', 'ERRORS', 'P95', 'TTFT-P95', 'COST/REQ', 'FEEDBACK'],
      figuresRow('stable', la.stable),
      figuresRow('canary', la.canary),
    ];
    lines.push(...table(rows).map((l) => `  ${l}`));
    for (const f of la.failures ?? []) lines.push(`  ! ${f}`);
  }
  const conds = st.conditions ?? [];
  if (conds.length > 0) {
    lines.push('', 'Conditions:');
    const rows = [
      ['TYPE', 'STATUS', 'REASON', 'AGE', 'MESSAGE'],
      ...conds.map((k) => [k.type, k.status, k.reason, age(k.lastTransitionTime, now), k.message]),
    ];
    lines.push(...table(rows).map((l) => `  ${l}`));
  }
  return lines.join('\n') + '\n';
}
