// `beastmode canary status|promote|abort`: reads and patches Canary objects through the Kubernetes API
// (kube/client.ts). Promotion and abort are spec changes (a merge patch), so they are the same operations
// Git would make.
import { R } from '../kube/resources.js';
import { CanarySpec, type Canary } from '../api/v1alpha1/index.js';
import { formatCanaryStatus } from './format.js';
import { ABORT_PATCH, patchCanarySpec, promotionPatch } from './canary-actions.js';
import { ObjectApi, printStatus, type ObjectKind } from './object-api.js';
import type { ObjectTarget, Output, StatusOptions } from './target.js';

const CANARY: ObjectKind<Canary> = {
  resource: R.Canary,
  spec: CanarySpec,
  word: 'canary',
  patchSpec: patchCanarySpec,
};

const connect = (t: ObjectTarget) => ObjectApi.connect(CANARY, t);

export async function canaryStatus(t: ObjectTarget, out: Output, opts: StatusOptions = {}): Promise<void> {
  const api = await connect(t);
  await printStatus(() => api.get(), formatCanaryStatus, out, opts);
}

/** Approves the current candidate: spec.promotion.approvedRevision = status.candidateRevision. */
export async function canaryPromote(t: ObjectTarget, out: Output): Promise<void> {
  const api = await connect(t);
  const c = await api.get();
  const patch = promotionPatch(c);
  const rev = patch.promotion.approvedRevision;
  const phase = c.status?.phase;
  await api.patchSpec({ ...patch });
  out.write(
    `canary ${api.namespace}/${t.name}: approved revision ${rev}` +
      (phase === 'Paused' ? '; promoting now\n' : '; it is promoted when it reaches the last step\n'),
  );
}

export async function canaryAbort(t: ObjectTarget, out: Output): Promise<void> {
  const api = await connect(t);
  await api.get();
  await api.patchSpec({ ...ABORT_PATCH });
  out.write(
    `canary ${api.namespace}/${t.name}: abort set; the candidate goes to 0% at the next reconcile. ` +
      'Set spec.abort back to false before rolling out a new revision\n',
  );
}
