// What the object commands (`beastmode canary|experiment <verb> <name>`) share before they reach the
// Kubernetes API: the target flags, the target read from them, and the run of one verb on it. It loads no
// client, so cli/main.ts can use it without loading the Kubernetes API code.
import type { FlagSpec } from './flags.js';

export interface ObjectTarget {
  /** A kubeconfig file; else $KUBECONFIG, ~/.kube/config or the in-cluster service account. */
  kubeconfig?: string;
  /** Else the namespace of the kubeconfig's current context, else `default`. */
  namespace?: string;
  name: string;
}

export interface Output {
  write(text: string): void;
}

export interface StatusOptions {
  watch?: boolean;
  intervalMs?: number;
  signal?: AbortSignal;
}

export const TARGET_FLAGS: Record<string, FlagSpec> = {
  namespace: { short: 'n', value: 'ns', help: "Namespace (default: the kubeconfig context's, else default)" },
  kubeconfig: {
    value: 'path',
    env: 'KUBECONFIG',
    help: 'Kubeconfig (default ~/.kube/config, then in-cluster)',
  },
};

export const WATCH_FLAG: FlagSpec = {
  short: 'w',
  boolean: true,
  help: 'Keep printing the status as it changes',
};

export const OBJECT_VERBS = ['status', 'promote', 'abort'] as const;
export type ObjectVerb = (typeof OBJECT_VERBS)[number];

export const isObjectVerb = (v: string | undefined): v is ObjectVerb =>
  (OBJECT_VERBS as readonly (string | undefined)[]).includes(v);

/** The verbs of one kind of object. */
export interface ObjectVerbs {
  status(t: ObjectTarget, out: Output, opts: StatusOptions): Promise<void>;
  promote(t: ObjectTarget, out: Output): Promise<void>;
  abort(t: ObjectTarget, out: Output): Promise<void>;
}

/** Runs one verb on the named object with the flags read; `status --watch` follows it until Ctrl-C. */
export async function runObjectVerb(
  verb: ObjectVerb,
  name: string,
  values: Record<string, unknown>,
  verbs: ObjectVerbs,
): Promise<number> {
  const { namespace, kubeconfig, watch } = values as {
    namespace?: string;
    kubeconfig?: string;
    watch?: boolean;
  };
  const target = {
    name,
    ...(namespace !== undefined ? { namespace } : {}),
    ...(kubeconfig !== undefined ? { kubeconfig } : {}),
  };
  const out = { write: (t: string) => void process.stdout.write(t) };
  switch (verb) {
    case 'status': {
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      await verbs.status(target, out, { watch: watch ?? false, signal: ac.signal });
      return 0;
    }
    case 'promote':
      await verbs.promote(target, out);
      return 0;
    case 'abort':
      await verbs.abort(target, out);
      return 0;
    default: {
      const never: never = verb;
      throw new Error(`unknown verb ${String(never)}`);
    }
  }
}
