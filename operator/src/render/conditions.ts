// The one condition builder every kind's status uses (ModelGateway, ModelRoute, AutoscalingPolicy, Canary),
// following the API conventions and kstatus: Ready is always present; Reconciling and Stalled appear only
// when True and never together; Ready is False whenever either is True; lastTransitionTime moves only when
// a condition's status does, so an unchanged state renders byte-identical conditions and a resync writes
// nothing. Pure: the caller passes the time.
import type { z } from 'zod';
import { ConditionType, Reason, type Condition } from '../../../api/v1alpha1/index.js';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** What the object's state says, in kstatus terms; `ready` False needs `reconciling` or `stalled`, or neither. */
export interface Health {
  ready: { status: ConditionStatus; reason: string; message: string };
  /** Work in progress (pods rolling out, a canary stepping). */
  reconciling?: { reason: string; message: string };
  /** Cannot proceed without a change (invalid spec, missing reference, conflict, a rolled-back canary). */
  stalled?: { reason: string; message: string };
  /** Extra kind-specific conditions (Accepted, ResolvedRefs, Available), after the kstatus ones. */
  extra?: ConditionInput[];
}

/**
 * The four shapes of health a kind usually has, with one reason and message for Ready and the condition
 * beside it: ready; reconciling or stalled (Ready False beside it); waiting (Ready False alone: blocked on
 * something outside the object, or paused).
 */
export type HealthState = 'ready' | 'reconciling' | 'stalled' | 'waiting';

export function healthOf(state: HealthState, reason: string, message: string): Health {
  const ready = { status: state === 'ready' ? ('True' as const) : ('False' as const), reason, message };
  switch (state) {
    case 'ready':
    case 'waiting':
      return { ready };
    case 'reconciling':
      return { ready, reconciling: { reason, message } };
    case 'stalled':
      return { ready, stalled: { reason, message } };
    default: {
      const never: never = state;
      throw new Error(`unknown health state ${String(never)}`);
    }
  }
}

/** RFC 3339 in whole seconds, as metav1.Time serialises. */
function kubeTime(at: Date): string {
  return new Date(Math.floor(at.getTime() / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/**
 * The conditions list of a Health, keeping lastTransitionTime of unchanged statuses from `previous`.
 * Order is stable (Ready, Reconciling|Stalled, extras) and conditions the Health does not name are
 * dropped, so a Reconciling or Stalled that no longer holds disappears. `generation` undefined leaves
 * observedGeneration out.
 */
export function buildConditions(
  health: Health,
  previous: readonly Condition[] | undefined,
  generation: number | undefined,
  now: Date,
): Condition[] {
  if (health.reconciling && health.stalled) throw new Error('Reconciling and Stalled cannot both be True');
  if ((health.reconciling || health.stalled) && health.ready.status === 'True') {
    throw new Error('Ready cannot be True while Reconciling or Stalled');
  }
  const wanted: ConditionInput[] = [{ type: ConditionType.Ready, ...health.ready }];
  if (health.reconciling) {
    wanted.push({ type: ConditionType.Reconciling, status: 'True', ...health.reconciling });
  }
  if (health.stalled) wanted.push({ type: ConditionType.Stalled, status: 'True', ...health.stalled });
  wanted.push(...(health.extra ?? []));
  const at = kubeTime(now);
  return wanted.map((c) => {
    const prev = previous?.find((p) => p.type === c.type);
    return {
      type: c.type,
      status: c.status,
      reason: c.reason,
      message: c.message.slice(0, 32768),
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime: prev && prev.status === c.status ? prev.lastTransitionTime : at,
    };
  });
}

/** An object whose status carries conditions (a Canary, an Experiment). */
interface WithConditions {
  metadata: { generation?: number };
  status?: { conditions?: readonly Condition[] };
}

/**
 * The status of an object whose spec does not parse: its last status kept, with the first few issues as
 * the message and Stalled (InvalidSpec) until the spec changes.
 */
export function invalidSpecStatus(
  live: WithConditions,
  error: z.ZodError,
  now: Date,
): Record<string, unknown> {
  const message = `Invalid spec: ${error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.')}: ${i.message}`)
    .join('; ')}`;
  const generation = live.metadata.generation;
  return {
    ...(live.status ?? {}),
    ...(generation !== undefined ? { observedGeneration: generation } : {}),
    message,
    conditions: buildConditions(
      healthOf('stalled', Reason.InvalidSpec, message),
      live.status?.conditions,
      generation,
      now,
    ),
  };
}
