// Promotion and abort of a Canary as spec changes (one merge patch each), shared by the CLI and the
// operator's dashboard so that both take the same path: the same precondition, the same patch, the same
// field manager in managedFields. The caller's client carries the caller's own identity.
import { R } from '../kube/resources.js';
import type { Canary } from '../api/v1alpha1/index.js';
import { specPatcher } from './object-api.js';

/** Who changed the spec, in the object's managedFields (as kubectl records `kubectl-patch`). */
export const CANARY_FIELD_MANAGER = 'beastmode-canary';

export interface PromotionPatch {
  promotion: { mode: 'manual'; approvedRevision: string };
}

/**
 * The spec patch that approves the current candidate (spec.promotion.approvedRevision =
 * status.candidateRevision); throws when there is no rollout in progress to approve.
 */
export function promotionPatch(c: Canary): PromotionPatch {
  const rev = c.status?.candidateRevision;
  const phase = c.status?.phase;
  if (rev === undefined || (phase !== 'Progressing' && phase !== 'Paused')) {
    throw new Error(
      `canary ${c.metadata.namespace ?? ''}/${c.metadata.name} has no candidate to promote (phase ${phase ?? 'unknown'}); promotion applies to a rollout in progress`,
    );
  }
  return { promotion: { mode: 'manual', approvedRevision: rev } };
}

export const ABORT_PATCH = { abort: true } as const;

/** One merge patch of the Canary's spec, as `beastmode-canary`. */
export const patchCanarySpec = specPatcher(R.Canary, CANARY_FIELD_MANAGER);
