// Reading and patching one object of ours (a Canary, an Experiment) for the CLI: connect with the
// target's kubeconfig, get the object with its spec's defaults filled in, patch its spec, and print its
// status once or as it changes.
import type { z } from 'zod';
import { isNotFound, KubeClient } from '../kube/client.js';
import type { ResourceType } from '../kube/resources.js';
import type { ObjectTarget, Output, StatusOptions } from './target.js';

/** What the CLI needs to know of a kind. */
export interface ObjectKind<T extends { spec: unknown }> {
  resource: ResourceType;
  /** Parsing fills in defaults the server would not have written (an object from before a default was added). */
  spec: z.ZodType<T['spec']>;
  /** The kind as a word in messages: `canary`, `experiment`. */
  word: string;
  patchSpec: PatchSpec;
}

/** One merge patch of an object's spec, under the kind's field manager. */
export type PatchSpec = (
  client: KubeClient,
  namespace: string,
  name: string,
  spec: Record<string, unknown>,
) => Promise<void>;

/** The spec patch of a kind, recorded in managedFields as `fieldManager` (as kubectl records `kubectl-patch`). */
export const specPatcher =
  (resource: ResourceType, fieldManager: string): PatchSpec =>
  async (client, namespace, name, spec) => {
    await client.mergePatch(resource, namespace, name, { spec }, { fieldManager });
  };

export class ObjectApi<T extends { spec: unknown }> {
  private constructor(
    private readonly kind: ObjectKind<T>,
    private readonly client: KubeClient,
    readonly namespace: string,
    private readonly name: string,
  ) {}

  static async connect<T extends { spec: unknown }>(
    kind: ObjectKind<T>,
    t: ObjectTarget,
  ): Promise<ObjectApi<T>> {
    const client = KubeClient.fromFile(t.kubeconfig || undefined);
    const namespace = t.namespace ?? (await client.namespace()) ?? 'default';
    return new ObjectApi(kind, client, namespace, t.name);
  }

  async get(): Promise<T> {
    try {
      const obj = (await this.client.get(this.kind.resource, this.namespace, this.name)) as unknown as T;
      const spec = this.kind.spec.safeParse(obj.spec);
      return spec.success ? { ...obj, spec: spec.data } : obj;
    } catch (e) {
      if (isNotFound(e)) throw new Error(`${this.kind.word} ${this.namespace}/${this.name} not found`);
      throw e;
    }
  }

  async patchSpec(spec: Record<string, unknown>): Promise<void> {
    await this.kind.patchSpec(this.client, this.namespace, this.name, spec);
  }
}

/** Prints the formatted status; with `watch`, again each time the text changes, until the signal aborts. */
export async function printStatus<T>(
  get: () => Promise<T>,
  format: (obj: T, now: Date) => string,
  out: Output,
  opts: StatusOptions = {},
): Promise<void> {
  let last = '';
  for (;;) {
    const text = format(await get(), new Date());
    if (text !== last) {
      if (opts.watch && last !== '') out.write('\n');
      out.write(text);
      last = text;
    }
    if (!opts.watch || opts.signal?.aborted) return;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 2000));
  }
}
