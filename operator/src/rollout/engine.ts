// The canary state machine: pure and tick-driven. Given the Canary (spec with defaults applied, status as
// last written), its route, the analysis figures of the window that just closed (if one did) and the time,
// it returns the next status, the events to emit and when to tick again. Everything it needs to resume is
// in the status, so an operator restart at any phase continues where the last write left off. The phase
// moves are in transitions.ts; what a tick shares is in tick.ts.
import { Reason, durationMs, type Canary, type ModelRoute } from '../../../api/v1alpha1/index.js';
import { describeFigures, judgeWindow, type Judgement } from './analysis.js';
import { backendRevision, normalizeBackend } from './revision.js';
import { enterShadow, shadowTick, shadowWindow } from './shadow-phase.js';
import { isRolloutActive, stepLabel, type Tick } from './tick.js';
import {
  advanceStep,
  blocked,
  completePromotion,
  hold,
  initialize,
  isApproved,
  pause,
  promote,
  rollBack,
  settleOnStable,
  start,
  stayRolledBack,
} from './transitions.js';
import type { AnalysisResult, CanaryTickResult } from './types.js';

export interface CanaryTickInput {
  /** The Canary with schema defaults applied to its spec. */
  canary: Canary;
  route: ModelRoute | undefined;
  /** Figures of the window [status.lastAnalysisAt, now] when `dueWindow` said one closed; else undefined. */
  metrics: AnalysisResult | undefined;
  now: Date;
}

/** The analysis window that has closed by `now`, if any: the controller asks its provider for these figures. */
export function dueWindow(canary: Canary, now: Date): { since: Date; until: Date } | undefined {
  const st = canary.status;
  if (st?.phase === 'Shadowing') return shadowWindow(canary, now);
  if (st?.phase !== 'Progressing' && st?.phase !== 'Paused') return undefined;
  if (st.lastAnalysisAt === undefined) return undefined;
  const since = new Date(st.lastAnalysisAt);
  if (now.getTime() - since.getTime() < durationMs(canary.spec.interval)) return undefined;
  return { since, until: now };
}

function analyse(t: Tick, metrics: AnalysisResult | undefined): CanaryTickResult {
  const judged = judgeWindow(t.spec.analysis, metrics);
  return { ...decide(t, judged, metrics), verdict: judged.verdict };
}

/** Records the judged window in the status and moves on: the next step, a hold, a pause or a rollback. */
function decide(t: Tick, judged: Judgement, metrics: AnalysisResult | undefined): CanaryTickResult {
  const figures = `canary ${describeFigures(metrics?.canary)}; stable ${describeFigures(metrics?.stable)}`;
  t.st = {
    ...t.st,
    lastAnalysisAt: t.now.toISOString(),
    lastAnalysis: {
      verdict: judged.verdict,
      ...(metrics ? { stable: metrics.stable, canary: metrics.canary } : {}),
      ...(judged.failures.length > 0 ? { failures: judged.failures.slice(0, 8) } : {}),
    },
  };
  switch (judged.verdict) {
    case 'failed': {
      const failed = (t.st.failedWindows ?? 0) + 1;
      t.st = { ...t.st, failedWindows: failed };
      const why = `${judged.failures.join('; ')} (${figures})`;
      if (failed >= t.spec.analysis.failureThreshold) return rollBack(t, Reason.RolledBack, why);
      t.events.push({
        type: 'Warning',
        reason: Reason.AnalysisFailed,
        message: `Analysis failed (${failed}/${t.spec.analysis.failureThreshold}) at ${stepLabel(t)}: ${why}`,
      });
      return hold(t, `analysis failed ${failed}/${t.spec.analysis.failureThreshold}`);
    }
    case 'inconclusive':
      return inconclusive(t, judged.failures.join('; '));
    case 'passed':
      return advanceStep(t);
    default: {
      const never: never = judged.verdict;
      throw new Error(`unknown verdict ${String(never)}`);
    }
  }
}

function inconclusive(t: Tick, why: string): CanaryTickResult {
  t.st = { ...t.st, inconclusiveWindows: (t.st.inconclusiveWindows ?? 0) + 1 };
  const startedAt = new Date(t.st.stepStartedAt ?? t.now.toISOString()).getTime();
  const deadline = durationMs(t.spec.analysis.progressDeadline);
  if (t.st.phase === 'Progressing' && t.now.getTime() - startedAt >= deadline) {
    const message = `No conclusive analysis for ${t.spec.analysis.progressDeadline} at ${stepLabel(t)}: ${why}`;
    if (t.spec.analysis.onProgressDeadline === 'rollback') {
      return rollBack(t, Reason.ProgressDeadlineExceeded, message);
    }
    return pause(t, Reason.ProgressDeadlineExceeded, message);
  }
  return hold(t, `inconclusive: ${why}`);
}

function continueRollout(t: Tick, metrics: AnalysisResult | undefined): CanaryTickResult {
  switch (t.st.phase) {
    case 'Promoting':
      return completePromotion(t);
    case 'Shadowing':
      return shadowTick(t, metrics);
    case 'Paused':
      if (t.spec.promotion?.mode === 'manual' && isApproved(t)) return promote(t);
      break;
    default:
      break;
  }
  const window = dueWindowOf(t);
  if (!window) return hold(t);
  return analyse(t, metrics);
}

function dueWindowOf(t: Tick): boolean {
  if (t.st.lastAnalysisAt === undefined) return true;
  return t.now.getTime() - new Date(t.st.lastAnalysisAt).getTime() >= t.intervalMs;
}

/** One tick of the machine. */
export function advanceCanary(input: CanaryTickInput): CanaryTickResult {
  const { canary, route, metrics, now } = input;
  const spec = canary.spec;
  const t: Tick = {
    spec,
    generation: canary.metadata.generation,
    now,
    intervalMs: durationMs(spec.interval),
    st: { ...(canary.status ?? {}) },
    events: [],
  };
  if (route === undefined) {
    return blocked(t, Reason.RouteNotFound, `ModelRoute ${spec.routeRef.name} not found`);
  }
  const backend = route.spec.backends.find((b) => b.name === spec.backend);
  if (backend === undefined) {
    return blocked(
      t,
      Reason.BackendNotFound,
      `ModelRoute ${spec.routeRef.name} has no backend ${spec.backend}`,
    );
  }
  if (t.st.stableBackend === undefined || t.st.stableRevision === undefined) return initialize(t, backend);

  const candidate = normalizeBackend({ ...(spec.candidate ?? backend), name: spec.backend });
  const rev = backendRevision(candidate);
  if (rev === t.st.stableRevision) return settleOnStable(t);
  if (rev === t.st.rolledBackRevision) return stayRolledBack(t);
  const current = isRolloutActive(t.st) && t.st.candidateRevision === rev;
  if (spec.abort) {
    if (!current) t.st = { ...t.st, candidateBackend: candidate, candidateRevision: rev };
    return rollBack(t, Reason.Aborted, 'spec.abort is true');
  }
  if (!current) return start(t, candidate, rev, spec.shadow ? enterShadow : advanceStep);
  return continueRollout(t, metrics);
}
