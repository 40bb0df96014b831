// Canary status conditions per the project conventions (kstatus, Argo CD, kubectl wait): Ready always
// present; Reconciling only while work is in progress and Stalled only when a change is needed, never both.
import { ConditionType, type Condition } from '../../../api/v1alpha1/index.js';

export interface ConditionWant {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * Sets the wanted conditions and removes the rest of the ones listed in `owned`. lastTransitionTime moves
 * only when a condition's status changes, so an unchanged state writes identical conditions.
 */
export function setConditions(
  prev: Condition[] | undefined,
  wants: ConditionWant[],
  owned: readonly string[],
  now: Date,
  generation: number | undefined,
): Condition[] {
  const byType = new Map((prev ?? []).map((c) => [c.type, c]));
  const wanted = new Set(wants.map((w) => w.type));
  const out: Condition[] = (prev ?? []).filter((c) => !owned.includes(c.type) || wanted.has(c.type));
  for (const w of wants) {
    const old = byType.get(w.type);
    const next: Condition = {
      type: w.type,
      status: w.status,
      reason: w.reason,
      message: w.message.slice(0, 32768),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime:
        old !== undefined && old.status === w.status ? old.lastTransitionTime : now.toISOString(),
    };
    const i = out.findIndex((c) => c.type === w.type);
    if (i >= 0) out[i] = next;
    else out.push(next);
  }
  return out;
}

export const CANARY_CONDITIONS = [
  ConditionType.Ready,
  ConditionType.Reconciling,
  ConditionType.Stalled,
] as const;

/** Ready plus at most one of Reconciling / Stalled. */
export function canaryConditions(
  state: 'ready' | 'reconciling' | 'stalled' | 'waiting',
  reason: string,
  message: string,
): ConditionWant[] {
  const ready: ConditionWant = {
    type: ConditionType.Ready,
    status: state === 'ready' ? 'True' : 'False',
    reason,
    message,
  };
  switch (state) {
    case 'ready':
    case 'waiting':
      return [ready];
    case 'reconciling':
      return [ready, { type: ConditionType.Reconciling, status: 'True', reason, message }];
    case 'stalled':
      return [ready, { type: ConditionType.Stalled, status: 'True', reason, message }];
    default: {
      const never: never = state;
      throw new Error(`unknown condition state ${String(never)}`);
    }
  }
}
