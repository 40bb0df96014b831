// The moves of the canary machine between phases: record the stable spec, start, step, pause, hold,
// promote, roll back, settle on stable. Each takes the tick in progress, updates its status and events,
// and ends it. Weights only go up within a rollout; rollback sets the canary weight to 0 at once. Pure.
import { Reason, type Backend, type CanaryPhase } from '../../../api/v1alpha1/index.js';
import { backendRevision, normalizeBackend } from './revision.js';
import {
  PROMOTION_SETTLE_MS,
  clearRollout,
  finish,
  isRolloutActive,
  previousReason,
  stepLabel,
  steadyRequeue,
  windowRequeue,
  type Tick,
} from './tick.js';
import type { CanaryTickResult } from './types.js';

export function blocked(t: Tick, reason: string, message: string): CanaryTickResult {
  return finish(t, 'waiting', reason, message, Math.min(steadyRequeue(t), 10_000));
}

export function initialize(t: Tick, backend: Backend): CanaryTickResult {
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

export function settleOnStable(t: Tick): CanaryTickResult {
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

export function rollBack(t: Tick, reason: string, message: string): CanaryTickResult {
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

export function stayRolledBack(t: Tick): CanaryTickResult {
  const reason =
    t.st.phase === 'RolledBack' ? (previousReason(t.st) ?? Reason.RolledBack) : Reason.RolledBack;
  const message =
    t.st.phase === 'RolledBack' && t.st.message !== undefined
      ? t.st.message
      : `Revision ${t.st.rolledBackRevision ?? '?'} was rolled back; change the spec to roll out a new one`;
  t.st = { ...t.st, phase: 'RolledBack', canaryWeight: 0 };
  return finish(t, 'stalled', reason, message, steadyRequeue(t));
}

/** Begins a rollout of `candidate`: its first move is the first step, or the shadow phase (shadow-phase.ts). */
export function start(
  t: Tick,
  candidate: Backend,
  rev: string,
  first: (t: Tick) => CanaryTickResult = advanceStep,
): CanaryTickResult {
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
  return first(t);
}

export function isApproved(t: Tick): boolean {
  const p = t.spec.promotion;
  if ((p?.mode ?? 'auto') === 'auto') return true;
  return p?.approvedRevision !== undefined && p.approvedRevision === t.st.candidateRevision;
}

export function promote(t: Tick): CanaryTickResult {
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
export function advanceStep(t: Tick): CanaryTickResult {
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

export function pause(t: Tick, reason: string, message: string): CanaryTickResult {
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
export function hold(t: Tick, note?: string): CanaryTickResult {
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

/** The promoting phase served 100%: the candidate becomes the stable spec. */
export function completePromotion(t: Tick): CanaryTickResult {
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
