// One tick of the canary machine in progress, and what every step of it shares: how a tick ends (status,
// conditions, events, requeue), when to look again, and the wording of the current step. Pure.
import type { CanaryPhase, CanarySpec, CanaryStatus } from '../../../api/v1alpha1/index.js';
import { buildConditions, healthOf, type HealthState } from '../render/conditions.js';
import type { CanaryEvent, CanaryTickResult } from './types.js';

/** The longest a steady canary waits before looking again, in case a watch event was missed. */
export const RESYNC_MS = 60_000;
/** How long the promoting phase serves 100% before the candidate becomes the stable spec. */
export const PROMOTION_SETTLE_MS = 1_000;

const ACTIVE_PHASES: readonly CanaryPhase[] = ['Shadowing', 'Progressing', 'Paused', 'Promoting'];

/** Whether a rollout is under way: a candidate takes traffic or awaits promotion. */
export function isRolloutActive(status: CanaryStatus | undefined): boolean {
  return status?.phase !== undefined && ACTIVE_PHASES.includes(status.phase);
}

/** One tick in progress: the spec, the clock, the status being built and the events to emit. */
export interface Tick {
  spec: CanarySpec;
  generation: number | undefined;
  now: Date;
  intervalMs: number;
  st: CanaryStatus;
  events: CanaryEvent[];
}

/** Ends a tick: the status with its conditions, the events, and when to tick again. */
export function finish(
  t: Tick,
  state: HealthState,
  reason: string,
  message: string,
  requeueAfterMs: number,
): CanaryTickResult {
  const status: CanaryStatus = {
    ...t.st,
    ...(t.generation !== undefined ? { observedGeneration: t.generation } : {}),
    message,
    conditions: buildConditions(healthOf(state, reason, message), t.st.conditions, t.generation, t.now),
  };
  return { status, events: t.events, requeueAfterMs: Math.max(0, requeueAfterMs) };
}

/** A steady phase looks again at the resync period, or each interval if longer. */
export function steadyRequeue(t: Tick): number {
  return Math.max(RESYNC_MS, t.intervalMs);
}

/** A step looks again when its analysis window closes. */
export function windowRequeue(t: Tick): number {
  const last = t.st.lastAnalysisAt !== undefined ? new Date(t.st.lastAnalysisAt).getTime() : t.now.getTime();
  return last + t.intervalMs - t.now.getTime();
}

/** "step 2/5, 5% to revision <rev>": the current step in messages and events. */
export function stepLabel(t: Tick): string {
  const i = t.st.currentStep ?? 0;
  return `step ${i + 1}/${t.spec.steps.length}, ${t.st.canaryWeight ?? 0}% to revision ${t.st.candidateRevision ?? '?'}`;
}

/** The status without a rollout's bookkeeping, serving stable only. */
export function clearRollout(st: CanaryStatus): CanaryStatus {
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
export function previousReason(st: CanaryStatus): string | undefined {
  return st.conditions?.find((c) => c.type === 'Ready')?.reason;
}
