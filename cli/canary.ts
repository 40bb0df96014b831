// `beastmode canary status|promote|abort`: reads and patches Canary objects through the Kubernetes API.
// Promotion and abort are spec changes (a merge patch), so they are the same operations Git would make.
import { CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { CanarySpec, GROUP, VERSION, type Canary } from '../api/v1alpha1/index.js';
import { formatCanaryStatus } from './format.js';

export interface CanaryTarget {
  kubeconfig?: string;
  namespace?: string;
  name: string;
}

export interface Output {
  write(text: string): void;
}

export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}

function namespaceOf(kc: KubeConfig, t: CanaryTarget): string {
  return t.namespace ?? kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}

class CanaryApi {
  private readonly api: CustomObjectsApi;
  readonly namespace: string;

  constructor(private readonly t: CanaryTarget) {
    const kc = loadKubeConfig(t.kubeconfig);
    this.api = kc.makeApiClient(CustomObjectsApi);
    this.namespace = namespaceOf(kc, t);
  }

  private get ref() {
    return {
      group: GROUP,
      version: VERSION,
      namespace: this.namespace,
      plural: 'canaries',
      name: this.t.name,
    };
  }

  async get(): Promise<Canary> {
    try {
      const obj = (await this.api.getNamespacedCustomObject(this.ref)) as Canary;
      // Defaults the server would not have written (an object from before a default was added).
      const spec = CanarySpec.safeParse(obj.spec);
      return spec.success ? { ...obj, spec: spec.data } : obj;
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 404) throw new Error(`canary ${this.namespace}/${this.t.name} not found`);
      throw e;
    }
  }

  async patchSpec(spec: Record<string, unknown>): Promise<void> {
    await this.api.patchNamespacedCustomObject(
      { ...this.ref, body: { spec } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }
}

export async function canaryStatus(
  t: CanaryTarget,
  out: Output,
  opts: { watch?: boolean; intervalMs?: number; signal?: AbortSignal } = {},
): Promise<void> {
  const api = new CanaryApi(t);
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
  const api = new CanaryApi(t);
  const c = await api.get();
  const rev = c.status?.candidateRevision;
  const phase = c.status?.phase;
  if (rev === undefined || (phase !== 'Progressing' && phase !== 'Paused')) {
    throw new Error(
      `canary ${api.namespace}/${t.name} has no candidate to promote (phase ${phase ?? 'unknown'}); promotion applies to a rollout in progress`,
    );
  }
  await api.patchSpec({ promotion: { mode: 'manual', approvedRevision: rev } });
  out.write(
    `canary ${api.namespace}/${t.name}: approved revision ${rev}` +
      (phase === 'Paused' ? '; promoting now\n' : '; it is promoted when it reaches the last step\n'),
  );
}

export async function canaryAbort(t: CanaryTarget, out: Output): Promise<void> {
  const api = new CanaryApi(t);
  await api.get();
  await api.patchSpec({ abort: true });
  out.write(
    `canary ${api.namespace}/${t.name}: abort set; the candidate goes to 0% at the next reconcile. ` +
      'Set spec.abort back to false before rolling out a new revision\n',
  );
}
