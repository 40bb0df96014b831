// Writes owned objects with server-side apply under one field manager, and statuses with one merge patch,
// but only when something changed. An apply is skipped when the live object carries the hash of the same
// desired object and either (a) nobody changed it since our last apply (same generation, or
// resourceVersion for kinds without one) or (b) every field we would send is already there with that value.
import { hashOf, deepEqual, isContainedIn, mergePatchFor } from './compare.js';
import type { KubeClient, KubeObject } from '../../../kube/client.js';
import type { ResourceType } from '../../../kube/resources.js';

export const FIELD_MANAGER = 'beastmode-operator';
export const HASH_ANNOTATION = 'beastmode.dev/applied-hash';

export type LiveLookup = (r: ResourceType, namespace: string, name: string) => KubeObject | undefined;

const versionOf = (o: KubeObject): string =>
  String(o.metadata.generation ?? o.metadata.resourceVersion ?? '');

export interface LastApplied {
  hash: string;
  /** generation, or resourceVersion for kinds without one, as our apply left it. */
  version: string;
  resourceVersion?: string;
}

/**
 * The cache still shows an object older than our own last write (its watch event is on the way and will
 * reconcile again). resourceVersions are opaque in general; etcd's are integers, and only then do we compare.
 */
function cacheBehind(live: KubeObject, last: LastApplied | undefined): boolean {
  const a = live.metadata.resourceVersion;
  const b = last?.resourceVersion;
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

/** Why an apply is needed, or undefined when the live object already matches. Pure. */
export function applyNeeded(
  desired: KubeObject,
  hash: string,
  live: KubeObject | undefined,
  lastApplied: LastApplied | undefined,
): string | undefined {
  if (!live) return 'missing';
  if (lastApplied?.hash === hash && cacheBehind(live, lastApplied)) return undefined;
  if (live.metadata.annotations?.[HASH_ANNOTATION] !== hash) return 'changed';
  if (lastApplied?.hash === hash && lastApplied.version === versionOf(live)) return undefined;
  const { metadata: dm, ...dRest } = desired;
  const { metadata: lm, ...lRest } = live;
  const metaContained =
    isContainedIn(dm.labels, lm.labels) &&
    isContainedIn(dm.annotations, lm.annotations) &&
    isContainedIn(dm.ownerReferences, lm.ownerReferences);
  return metaContained && isContainedIn(dRest, lRest) ? undefined : 'drifted';
}

export class Applier {
  private readonly applied = new Map<string, LastApplied>();

  constructor(
    private readonly client: KubeClient,
    private readonly live: LiveLookup,
  ) {}

  /** Applies `desired` unless the live object already matches; returns whether a write happened. */
  async apply(r: ResourceType, desired: KubeObject): Promise<boolean> {
    const ns = desired.metadata.namespace ?? '';
    const key = `${r.kind}/${ns}/${desired.metadata.name}`;
    const hash = hashOf(desired);
    const stamped: KubeObject = {
      ...desired,
      metadata: {
        ...desired.metadata,
        annotations: { ...desired.metadata.annotations, [HASH_ANNOTATION]: hash },
      },
    };
    const live = this.live(r, ns, desired.metadata.name);
    const reason = applyNeeded(stamped, hash, live, this.applied.get(key));
    if (reason === undefined) {
      const last = this.applied.get(key);
      if (live && !(last && cacheBehind(live, last))) {
        this.applied.set(key, {
          hash,
          version: versionOf(live),
          resourceVersion: live.metadata.resourceVersion,
        });
      }
      return false;
    }
    try {
      const out = await this.client.apply(r, stamped, FIELD_MANAGER);
      this.applied.set(key, { hash, version: versionOf(out), resourceVersion: out.metadata.resourceVersion });
      return true;
    } catch (e) {
      throw new Error(`failed to apply ${r.kind} ${ns}/${desired.metadata.name}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** Writes the status with one merge patch when it differs from the live status. */
  async patchStatus(r: ResourceType, live: KubeObject, status: Record<string, unknown>): Promise<boolean> {
    const current = live.status as Record<string, unknown> | undefined;
    if (deepEqual(current ?? {}, status)) return false;
    const ns = live.metadata.namespace ?? '';
    try {
      await this.client.mergePatch(
        r,
        ns,
        live.metadata.name,
        { status: mergePatchFor(current, status) },
        { subresource: 'status', fieldManager: FIELD_MANAGER },
      );
      return true;
    } catch (e) {
      throw new Error(
        `failed to write status of ${r.kind} ${ns}/${live.metadata.name}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  }
}
