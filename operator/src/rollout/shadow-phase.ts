// The shadow phase of a canary with spec.shadow: before its first live step the candidate receives
// mirrored requests only (weight 0; the gateway mirrors them through canaryOverlayFor). Once
// shadow.duration has passed, the shadow's figures since the phase began are judged every interval:
// pass → the first live step, fail → rollback, too few mirrored calls → the phase goes on until
// analysis.progressDeadline (then onProgressDeadline applies). Pure, like the rest of the machine.
import {
  Reason,
  durationMs,
  type Canary,
  type CanaryShadow,
  type VariantFigures,
} from '../../../api/v1alpha1/index.js';
import { describeFigures, formatFigure, type Judgement } from './analysis.js';
import { finish, previousReason, type Tick } from './tick.js';
import { advanceStep, rollBack } from './transitions.js';
import type { AnalysisResult, CanaryTickResult } from './types.js';

interface PhaseTimes {
  startedAt: number;
  lastAt: number;
  durationMs: number;
  intervalMs: number;
}

function timesOf(spec: Canary['spec'], st: Canary['status']): PhaseTimes | undefined {
  if (st?.phase !== 'Shadowing' || spec.shadow === undefined) return undefined;
  if (st.stepStartedAt === undefined || st.lastAnalysisAt === undefined) return undefined;
  return {
    startedAt: new Date(st.stepStartedAt).getTime(),
    lastAt: new Date(st.lastAnalysisAt).getTime(),
    durationMs: durationMs(spec.shadow.duration),
    intervalMs: durationMs(spec.interval),
  };
}

/** When the next judgement is due: the phase's duration passed, and an interval since the last one. */
function dueAt(p: PhaseTimes): number {
  return Math.max(p.startedAt + p.durationMs, p.lastAt + p.intervalMs);
}

/** The window to judge by `now`, if one is due: always from the start of the phase. */
export function shadowWindow(canary: Canary, now: Date): { since: Date; until: Date } | undefined {
  const p = timesOf(canary.spec, canary.status);
  if (p === undefined || now.getTime() < dueAt(p)) return undefined;
  return { since: new Date(p.startedAt), until: now };
}

/** The rollout's first move with a shadow phase: mirror to the candidate, no live traffic yet. */
export function enterShadow(t: Tick): CanaryTickResult {
  const sh = t.spec.shadow as CanaryShadow;
  const now = t.now.toISOString();
  t.st = {
    ...t.st,
    phase: 'Shadowing',
    canaryWeight: 0,
    stepStartedAt: now,
    lastAnalysisAt: now,
    inconclusiveWindows: 0,
  };
  const message = `Shadowing revision ${t.st.candidateRevision ?? '?'}: ${sh.percent}% of requests mirrored to it for at least ${sh.duration}`;
  t.events.push({ type: 'Normal', reason: Reason.Progressing, message });
  return finish(
    t,
    'reconciling',
    Reason.Progressing,
    message,
    Math.max(durationMs(sh.duration), t.intervalMs),
  );
}

/** Judges the shadow's figures against the phase's bounds; too few mirrored calls are inconclusive. */
export function judgeShadow(sh: CanaryShadow, f: VariantFigures | undefined): Judgement {
  const requests = f?.requests ?? 0;
  if (f === undefined || requests < sh.minRequests)
    return {
      verdict: 'inconclusive',
      failures: [`${requests} mirrored calls, fewer than shadow.minRequests ${sh.minRequests}`],
    };
  const failures: string[] = [];
  const rate = f.errorRate ?? 0;
  if (sh.maxErrorRate !== undefined && rate > sh.maxErrorRate)
    failures.push(`shadow error-rate ${formatFigure(rate)} > max ${formatFigure(sh.maxErrorRate)}`);
  const p95 = f.latencyP95Ms;
  if (sh.maxLatencyP95 !== undefined && p95 !== undefined && p95 > sh.maxLatencyP95)
    failures.push(`shadow latency-p95 ${formatFigure(p95)}ms > max ${formatFigure(sh.maxLatencyP95)}ms`);
  if (sh.minAgreement !== undefined) {
    const a = f.agreement;
    if (a === undefined) failures.push(`no shadow answer could be compared (${sh.compare})`);
    else if (a < sh.minAgreement)
      failures.push(`shadow agreement ${formatFigure(a)} < min ${formatFigure(sh.minAgreement)}`);
  }
  return { verdict: failures.length > 0 ? 'failed' : 'passed', failures };
}

/** A tick in the shadow phase: wait for the window, then judge it and move on. */
export function shadowTick(t: Tick, metrics: AnalysisResult | undefined): CanaryTickResult {
  const sh = t.spec.shadow;
  const p = timesOf(t.spec, t.st);
  if (sh === undefined || p === undefined) return advanceStep(t); // shadow removed from the spec: go live
  const now = t.now.getTime();
  if (now < dueAt(p)) {
    return finish(
      t,
      'reconciling',
      previousReason(t.st) ?? Reason.Progressing,
      t.st.message ?? '',
      dueAt(p) - now,
    );
  }
  const judged = metrics === undefined ? unavailable() : judgeShadow(sh, metrics.shadow);
  const figures = describeShadow(metrics?.shadow);
  t.st = {
    ...t.st,
    lastAnalysisAt: t.now.toISOString(),
    lastAnalysis: {
      verdict: judged.verdict,
      ...(metrics?.shadow ? { shadow: metrics.shadow } : {}),
      ...(judged.failures.length > 0 ? { failures: judged.failures.slice(0, 8) } : {}),
    },
  };
  const rev = t.st.candidateRevision ?? '?';
  switch (judged.verdict) {
    case 'passed':
      t.events.push({
        type: 'Normal',
        reason: Reason.Progressing,
        message: `Shadow phase of revision ${rev} passed (${figures}): starting live traffic`,
      });
      return advanceStep(t);
    case 'failed':
      return rollBack(
        t,
        Reason.RolledBack,
        `shadow phase failed: ${judged.failures.join('; ')} (${figures})`,
      );
    case 'inconclusive':
      return shadowInconclusive(t, p, judged.failures.join('; '));
    default: {
      const never: never = judged.verdict;
      throw new Error(`unknown verdict ${String(never)}`);
    }
  }
}

function unavailable(): Judgement {
  return { verdict: 'inconclusive', failures: ['metrics unavailable'] };
}

function shadowInconclusive(t: Tick, p: PhaseTimes, why: string): CanaryTickResult {
  t.st = { ...t.st, inconclusiveWindows: (t.st.inconclusiveWindows ?? 0) + 1 };
  const deadline = t.spec.analysis.progressDeadline;
  const late = t.now.getTime() - (p.startedAt + p.durationMs) >= durationMs(deadline);
  const message = `Shadowing revision ${t.st.candidateRevision ?? '?'}: inconclusive: ${why}`;
  if (late && t.spec.analysis.onProgressDeadline === 'rollback')
    return rollBack(
      t,
      Reason.ProgressDeadlineExceeded,
      `no conclusive shadow analysis for ${deadline}: ${why}`,
    );
  return finish(t, 'reconciling', Reason.Progressing, message, t.intervalMs);
}

/** The shadow's figures in one line, with its agreement rate when compared. */
export function describeShadow(f: VariantFigures | undefined): string {
  const base = `shadow ${describeFigures(f)}`;
  return f?.agreement !== undefined ? `${base}, agreement ${formatFigure(f.agreement * 100)}%` : base;
}
