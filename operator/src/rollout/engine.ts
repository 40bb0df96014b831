// The canary state machine: pure and tick-driven. Given the Canary (spec with defaults applied, status as
// last written), its route, the analysis figures of the window that just closed (if one did) and the time,
// it returns the next status, the events to emit and when to tick again. Everything it needs to resume is
// in the status, so an operator restart at any phase continues where the last write left off.
import {
  Reason,
  durationMs,
  type Backend,
  type Canary,
  type CanaryPhase,
  type CanarySpec,
  type CanaryStatus,
  type ModelRoute,
} from '../../../api/v1alpha1/index.js';
import { describeFigures, judgeWindow } from './analysis.js';
import { CANARY_CONDITIONS, canaryConditions, setConditions } from './conditions.js';
import { backendRevision, normalizeBackend } from './revision.js';
import type { AnalysisResult, CanaryEvent, CanaryTickResult } from './types.js';

export interface CanaryTickInput {
  /** The Canary with schema defaults applied to its spec. */
  canary: Canary;
  route: ModelRoute | undefined;
  /** Figures of the window [status.lastAnalysisAt, now] when `dueWindow` said one closed; else undefined. */
  metrics: AnalysisResult | undefined;
  now: Date;
}

/** The longest a steady canary waits before looking again, in case a watch event was missed. */
export const RESYNC_MS = 60_000;
/** How long the promoting phase serves 100% before the candidate becomes the stable spec. */
export const PROMOTION_SETTLE_MS = 1_000;

const ACTIVE_PHASES: readonly CanaryPhase[] = ['Progressing', 'Paused', 'Promoting'];

/** Whether a rollout is under way: a candidate takes traffic or awaits promotion. */
export function isRolloutActive(status: CanaryStatus | undefined): boolean {
  return status?.phase !== undefined && ACTIVE_PHASES.includes(status.phase);
}

/** The analysis window that has closed by `now`, if any: the controller asks its provider for these figures. */
export function dueWindow(canary: Canary, now: Date): { since: Date; until: Date } | undefined {
  const st = canary.status;
  if (st?.phase !== 'Progressing' && st?.phase !== 'Paused') return undefined;
  if (st.lastAnalysisAt === undefined) return undefined;
  const since = new Date(st.lastAnalysisAt);
  if (now.getTime() - since.getTime() < durationMs(canary.spec.interval)) return undefined;
  return { since, until: now };
}

interface Tick {
  spec: CanarySpec;
  generation: number | undefined;
  now: Date;
  intervalMs: number;
  st: CanaryStatus;
  events: CanaryEvent[];
}

type ConditionState = Parameters<typeof canaryConditions>[0];

function finish(
  t: Tick,
  state: ConditionState,
  reason: string,
  message: string,
  requeueAfterMs: number,
): CanaryTickResult {
  const status: CanaryStatus = {
    ...t.st,
    ...(t.generation !== undefined ? { observedGeneration: t.generation } : {}),
    message,
    conditions: setConditions(
      t.st.conditions,
      canaryConditions(state, reason, message),
      CANARY_CONDITIONS,
      t.now,
      t.generation,
    ),
  };
  return { status, events: t.events, requeueAfterMs: Math.max(0, requeueAfterMs) };
}

function steadyRequeue(t: Tick): number {
  return Math.max(RESYNC_MS, t.intervalMs);
}

function windowRequeue(t: Tick): number {
  const last = t.st.lastAnalysisAt !== undefined ? new Date(t.st.lastAnalysisAt).getTime() : t.now.getTime();
  return last + t.intervalMs - t.now.getTime();
}

function stepLabel(t: Tick): string {
  const i = t.st.currentStep ?? 0;
  return `step ${i + 1}/${t.spec.steps.length}, ${t.st.canaryWeight ?? 0}% to revision ${t.st.candidateRevision ?? '?'}`;
}

function clearRollout(st: CanaryStatus): CanaryStatus {
  const {
    candidateBackend: _cb,
    candidateRevision: _cr,
    currentStep: _cs,
    stepStartedAt: _ss,
    lastAnalysisAt: _la,
    failedWindows: _fw,
    inconclusiveWindows: _iw,
    ...rest
  } = st;
  return { ...rest, canaryWeight: 0 };
}

/** The Ready reason the last write gave, to keep a phase's reason across ticks that change nothing. */
function previousReason(st: CanaryStatus): string | undefined {
  return st.conditions?.find((c) => c.type === 'Ready')?.reason;
}

function blocked(t: Tick, reason: string, message: string): CanaryTickResult {
  return finish(t, 'waiting', reason, message, Math.min(steadyRequeue(t), 10_000));
}

function initialize(t: Tick, backend: Backend): CanaryTickResult {
  const stable = normalizeBackend(backend);
  const rev = backendRevision(stable);
  t.st = { ...t.st, phase: 'Initializing', stableBackend: stable, stableRevision: rev, canaryWeight: 0 };
  t.events.push({
    type: 'Normal',
    reason: Reason.Initializing,
    message: `Recorded backend ${t.spec.backend} revision ${rev} as stable`,
  });
  return finish(t, 'reconciling', Reason.Initializing, `Recorded stable revision ${rev}`, 0);
}

function settleOnStable(t: Tick): CanaryTickResult {
  const wasActive = isRolloutActive(t.st);
  if (wasActive) {
    t.events.push({
      type: 'Normal',
      reason: Reason.Reconciled,
      message: `Candidate ${t.st.candidateRevision ?? '?'} replaced by the stable spec: rollout stopped`,
    });
  }
  const phase: CanaryPhase = t.st.phase === 'Succeeded' && !wasActive ? 'Succeeded' : 'Idle';
  t.st = { ...clearRollout(t.st), phase };
  if (phase === 'Succeeded') {
    return finish(
      t,
      'ready',
      Reason.Succeeded,
      `Revision ${t.st.stableRevision ?? '?'} promoted`,
      steadyRequeue(t),
    );
  }
  return finish(
    t,
    'ready',
    Reason.Reconciled,
    `Serving stable revision ${t.st.stableRevision ?? '?'}`,
    steadyRequeue(t),
  );
}

function rollBack(t: Tick, reason: string, message: string): CanaryTickResult {
  const at = t.st.canaryWeight ?? 0;
  t.st = {
    ...t.st,
    phase: 'RolledBack',
    canaryWeight: 0,
    rolledBackRevision: t.st.candidateRevision,
  };
  const text = `Rolled back revision ${t.st.candidateRevision ?? '?'} from ${at}%: ${message}`;
  t.events.push({ type: 'Warning', reason, message: text });
  return finish(t, 'stalled', reason, text, steadyRequeue(t));
}

function stayRolledBack(t: Tick): CanaryTickResult {
  const reason =
    t.st.phase === 'RolledBack' ? (previousReason(t.st) ?? Reason.RolledBack) : Reason.RolledBack;
  const message =
    t.st.phase === 'RolledBack' && t.st.message !== undefined
      ? t.st.message
      : `Revision ${t.st.rolledBackRevision ?? '?'} was rolled back; change the spec to roll out a new one`;
  t.st = { ...t.st, phase: 'RolledBack', canaryWeight: 0 };
  return finish(t, 'stalled', reason, message, steadyRequeue(t));
}

function start(t: Tick, candidate: Backend, rev: string): CanaryTickResult {
  const previous = isRolloutActive(t.st) ? t.st.candidateRevision : undefined;
  const { lastAnalysis: _l, ...rest } = clearRollout(t.st);
  t.st = {
    ...rest,
    phase: 'Progressing',
    candidateBackend: candidate,
    candidateRevision: rev,
    canaryWeight: 0,
    failedWindows: 0,
    inconclusiveWindows: 0,
  };
  t.events.push({
    type: 'Normal',
    reason: Reason.Progressing,
    message:
      previous !== undefined
        ? `Candidate changed from revision ${previous} to ${rev}: restarting the rollout`
        : `Rolling out revision ${rev} of backend ${t.spec.backend} against stable ${t.st.stableRevision ?? '?'}`,
  });
  return advanceStep(t);
}

function isApproved(t: Tick): boolean {
  const p = t.spec.promotion;
  if ((p?.mode ?? 'auto') === 'auto') return true;
  return p?.approvedRevision !== undefined && p.approvedRevision === t.st.candidateRevision;
}

function promote(t: Tick): CanaryTickResult {
  t.st = { ...t.st, phase: 'Promoting', canaryWeight: 100, currentStep: t.spec.steps.length - 1 };
  t.events.push({
    type: 'Normal',
    reason: Reason.Promoting,
    message: `Promoting revision ${t.st.candidateRevision ?? '?'}: 100% to the candidate`,
  });
  return finish(
    t,
    'reconciling',
    Reason.Promoting,
    stepLabel(t),
    Math.min(PROMOTION_SETTLE_MS, t.intervalMs),
  );
}

/** Moves to the next step above the current weight (weights never go back), pausing before 100 if manual. */
function advanceStep(t: Tick): CanaryTickResult {
  const weight = t.st.canaryWeight ?? 0;
  const next = t.spec.steps.findIndex((s) => s > weight);
  const target = next < 0 ? 100 : (t.spec.steps[next] ?? 100);
  if (target >= 100) {
    if (isApproved(t)) return promote(t);
    return pause(
      t,
      Reason.AwaitingPromotion,
      `Awaiting promotion of revision ${t.st.candidateRevision ?? '?'}`,
    );
  }
  const now = t.now.toISOString();
  t.st = {
    ...t.st,
    phase: 'Progressing',
    currentStep: next,
    canaryWeight: target,
    stepStartedAt: now,
    lastAnalysisAt: now,
    inconclusiveWindows: 0,
  };
  t.events.push({ type: 'Normal', reason: Reason.Progressing, message: `Advanced to ${stepLabel(t)}` });
  return finish(t, 'reconciling', Reason.Progressing, `Progressing: ${stepLabel(t)}`, t.intervalMs);
}

function pause(t: Tick, reason: string, message: string): CanaryTickResult {
  const first = t.st.phase !== 'Paused' || previousReason(t.st) !== reason;
  const now = t.now.toISOString();
  t.st = {
    ...t.st,
    phase: 'Paused',
    currentStep: Math.max(0, t.st.currentStep ?? 0),
    lastAnalysisAt: t.st.lastAnalysisAt ?? now,
    stepStartedAt: t.st.stepStartedAt ?? now,
  };
  if (first)
    t.events.push({ type: reason === Reason.AwaitingPromotion ? 'Normal' : 'Warning', reason, message });
  return finish(t, 'waiting', reason, message, windowRequeue(t));
}

/**
 * Holds the current step. Without a note (no window closed) the message and reason stay as last written,
 * so a tick that changes nothing writes nothing.
 */
function hold(t: Tick, note?: string): CanaryTickResult {
  const reason = previousReason(t.st);
  if (t.st.phase === 'Paused') {
    return finish(t, 'waiting', reason ?? Reason.Paused, t.st.message ?? '', windowRequeue(t));
  }
  const message =
    note === undefined && t.st.message !== undefined
      ? t.st.message
      : `Progressing: ${stepLabel(t)}${note ? `; ${note}` : ''}`;
  return finish(t, 'reconciling', Reason.Progressing, message, windowRequeue(t));
}

function analyse(t: Tick, metrics: AnalysisResult | undefined): CanaryTickResult {
  const judged = judgeWindow(t.spec.analysis, metrics);
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
    case 'Promoting': {
      const promoted = t.st.candidateBackend ?? t.st.stableBackend;
      const rev = t.st.candidateRevision ?? t.st.stableRevision;
      t.st = { ...clearRollout(t.st), phase: 'Succeeded', stableBackend: promoted, stableRevision: rev };
      t.events.push({
        type: 'Normal',
        reason: Reason.Promoted,
        message: `Promoted revision ${rev ?? '?'} to stable`,
      });
      return finish(t, 'ready', Reason.Succeeded, `Revision ${rev ?? '?'} promoted`, steadyRequeue(t));
    }
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
  if (!current) return start(t, candidate, rev);
  return continueRollout(t, metrics);
}
