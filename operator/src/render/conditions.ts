// Pure condition bookkeeping following the API conventions and kstatus: Ready is always present;
// Reconciling and Stalled appear only when True and never together; Ready is False whenever either is
// True; lastTransitionTime changes only when a condition's status does.
import type { Condition } from '../../../api/v1alpha1/index.js';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/** What the object's state says, in kstatus terms; `ready` False needs `reconciling` or `stalled`, or neither. */
export interface Health {
  ready: { status: 'True' | 'False' | 'Unknown'; reason: string; message: string };
  /** Work in progress (pods rolling out). */
  reconciling?: { reason: string; message: string };
  /** Cannot proceed without a change (invalid spec, missing reference, conflict). */
  stalled?: { reason: string; message: string };
  /** Extra kind-specific conditions (Accepted, ResolvedRefs, Available). */
  extra?: ConditionInput[];
}

/**
 * Builds the conditions list from a Health, keeping lastTransitionTime of unchanged statuses from `previous`.
 * Order is stable (Ready, Reconciling|Stalled, extras), so an unchanged state renders byte-identical.
 */
export function buildConditions(
  health: Health,
  previous: readonly Condition[] | undefined,
  generation: number,
  now: string,
): Condition[] {
  if (health.reconciling && health.stalled) throw new Error('Reconciling and Stalled cannot both be True');
  const wanted: ConditionInput[] = [{ type: 'Ready', ...health.ready }];
  if (health.reconciling) wanted.push({ type: 'Reconciling', status: 'True', ...health.reconciling });
  if (health.stalled) wanted.push({ type: 'Stalled', status: 'True', ...health.stalled });
  if ((health.reconciling || health.stalled) && health.ready.status === 'True') {
    throw new Error('Ready cannot be True while Reconciling or Stalled');
  }
  wanted.push(...(health.extra ?? []));
  return wanted.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    return {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message.slice(0, 32768),
      observedGeneration: generation,
      lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : now,
    };
  });
}

/** RFC 3339 without milliseconds, as metav1.Time serialises. */
export const toKubeTime = (ms: number): string =>
  new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
