// Promotion and abort of an Experiment as spec changes (one merge patch each), shared by the CLI and the
// operator's dashboard so that both take the same path: the same precondition, the same patch, the same
// field manager in managedFields. The caller's client carries the caller's own identity.
import { R } from '../kube/resources.js';
import type { Experiment } from '../api/v1alpha1/index.js';
import { specPatcher } from './object-api.js';

/** Who changed the spec, in the object's managedFields (as kubectl records `kubectl-patch`). */
export const EXPERIMENT_FIELD_MANAGER = 'beastmode-experiment';

export interface ExperimentPromotionPatch {
  promote: string;
}

/**
 * The spec patch that promotes the winner (spec.promote = status.winner); throws, saying what is missing,
 * unless the experiment has concluded with a winner and waits for a manual promotion.
 */
export function experimentPromotionPatch(e: Experiment): ExperimentPromotionPatch {
  const id = `experiment ${e.metadata.namespace ?? ''}/${e.metadata.name}`;
  const phase = e.status?.phase;
  const winner = e.status?.winner;
  if (phase === 'Promoted')
    throw new Error(
      `${id} is already promoted (${e.status?.promotedVariant ?? winner ?? '?'} serves everyone)`,
    );
  if (phase !== 'Concluded' || winner === undefined) {
    const verdict = e.status?.verdict;
    throw new Error(
      `${id} has no winner to promote (phase ${phase ?? 'Pending'}` +
        (verdict !== undefined ? `, verdict ${verdict}` : '') +
        '); promotion applies once it has concluded with a winner',
    );
  }
  const mode = e.spec.promotion ?? 'manual';
  if (mode !== 'manual')
    throw new Error(
      `${id} has promotion ${mode}: ${mode === 'auto' ? 'the operator promotes the winner itself' : 'it only reports; set spec.promotion to manual to promote'}`,
    );
  return { promote: winner };
}

export const EXPERIMENT_ABORT_PATCH = { abort: true } as const;

/** One merge patch of the Experiment's spec, as `beastmode-experiment`. */
export const patchExperimentSpec = specPatcher(R.Experiment, EXPERIMENT_FIELD_MANAGER);
