// `beastmode canary status|promote|abort`: reads and patches Canary objects through the Kubernetes API
// (kube/client.ts). Promotion and abort are spec changes (a merge patch), so they are the same operations
// Git would make.
import { isNotFound, KubeClient } from '../kube/client.js';
import { R } from '../kube/resources.js';
import { CanarySpec, type Canary } from '../api/v1alpha1/index.js';
import { formatCanaryStatus } from './format.js';
import { ABORT_PATCH, patchCanarySpec, promotionPatch } from './canary-actions.js';

export interface CanaryTarget {
  /** A kubeconfig file; else $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  kubeconfig?: string;
  /** Else the namespace of the kubeconfig's current context, else `default`. */
  namespace?: string;
  name: string;
}

export interface Output {
  write(text: string): void;
}

class CanaryApi {
  private constructor(
    private readonly client: KubeClient,
    readonly namespace: string,
    private readonly name: string,
  ) {}

  static async connect(t: CanaryTarget): Promise<CanaryApi> {
    const client = KubeClient.fromFile(t.kubeconfig || undefined);
    const namespace = t.namespace ?? (await client.namespace()) ?? 'default';
    return new CanaryApi(client, namespace, t.name);
  }

  async get(): Promise<Canary> {
    try {
      const obj = (await this.client.get(R.Canary, this.namespace, this.name)) as unknown as Canary;
      // Defaults the server would not have written (an object from before a default was added).
      const spec = CanarySpec.safeParse(obj.spec);
      return spec.success ? { ...obj, spec: spec.data } : obj;
    } catch (e) {
      if (isNotFound(e)) throw new Error(`canary ${this.namespace}/${this.name} not found`);
      throw e;
    }
  }

  async patchSpec(spec: Record<string, unknown>): Promise<void> {
    await patchCanarySpec(this.client, this.namespace, this.name, spec);
  }
}

export async function canaryStatus(
  t: CanaryTarget,
  out: Output,
  opts: { watch?: boolean; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const api = await CanaryApi.connect(t);
  let last = '';
  for (;;) {
    const text = formatCanaryStatus(await api.get(), new Date());
    if (text !== last) {
      if (opts.watch && last !== '') out.write('\n');
      out.write(text);
      last = text;
    }
    if (!opts.watch || opts.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
  }
}

/** Approves the current candidate: spec.promotion.approvedRevision = status.candidateRevision. */
export async function canaryPromote(t: CanaryTarget, out: Output): Promise<void> {
  const api = await CanaryApi.connect(t);
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

export async function canaryAbort(t: CanaryTarget, out: Output): Promise<void> {
  const api = await CanaryApi.connect(t);
  await api.get();
  await api.patchSpec({ ...ABORT_PATCH });
  out.write(
    `canary ${api.namespace}/${t.name}: abort set; the candidate goes to 0% at the next reconcile. ` +
      'Set spec.abort back to false before rolling out a new revision\n',
  );
}
