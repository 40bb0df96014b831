// Promote and abort from the dashboard: the CLI's own operations (cli/canary-actions.ts) made with the
// viewer's bearer token against the API server the operator talks to, so RBAC decides exactly as it would
// for `beastmode canary promote` run by that viewer, and the operator's own rights are never lent out.
// The connection trusts the operator's API server CA and carries no client certificate: only the viewer's
// token identifies the request.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Agent } from 'undici';
import { ABORT_PATCH, patchCanarySpec, promotionPatch } from '../../../cli/canary-actions.js';
import type { PatchSpec } from '../../../cli/object-api.js';
import type { Canary } from '../../../api/v1alpha1/index.js';
import { KubeApiError, KubeClient } from '../../../kube/client.js';
import { readInCluster, readKubeconfig } from '../../../kube/kubeconfig.js';
import { R, type ResourceType } from '../../../kube/resources.js';

export type CanaryAction = 'promote' | 'abort';

export interface ActionOutcome {
  status: number;
  message: string;
}

/** Builds API clients that act as a viewer (their token only), for the operator's own API server. */
export type ViewerClients = (token: string) => KubeClient;

/** The API server of the operator's kubeconfig (or in-cluster), reached with only a viewer's token. */
export function viewerClients(kubeconfig: string | undefined, env = process.env): ViewerClients {
  const file =
    kubeconfig ??
    (env.KUBECONFIG?.split(':').find((f) => f !== '') ||
      (existsSync(join(env.HOME ?? homedir(), '.kube', 'config'))
        ? join(env.HOME ?? homedir(), '.kube', 'config')
        : undefined));
  const c =
    file !== undefined ? readKubeconfig(file) : env.KUBERNETES_SERVICE_HOST ? readInCluster(env) : undefined;
  if (c === undefined)
    throw new Error(
      'dashboard actions: the kubeconfig needs an exec plugin or proxy, which a viewer token cannot use; use tokenreview mode in the cluster or a plain kubeconfig',
    );
  const dispatcher = new Agent({
    connect: {
      ...(c.ca ? { ca: c.ca } : {}),
      ...(c.servername ? { servername: c.servername } : {}),
      ...(c.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    },
  });
  return (token) =>
    new KubeClient({
      source: 'dashboard-viewer',
      server: () => Promise.resolve(c.server),
      namespace: () => Promise.resolve(undefined),
      credentials: () => Promise.resolve({ headers: { Authorization: `Bearer ${token}` }, dispatcher }),
    });
}

/** How the dashboard promotes and aborts one kind: the CLI's own precondition and patches. */
export interface SpecActions<T> {
  resource: ResourceType;
  /** The promotion patch and what it does; throws, saying why, when there is nothing to promote. */
  promote(obj: T): { patch: Record<string, unknown>; message: string };
  abortPatch: Readonly<Record<string, unknown>>;
  patchSpec: PatchSpec;
  aborted: string;
}

/** Runs one action as the viewer; API refusals come back with their status and the server's message. */
export async function runSpecAction<T>(
  kind: SpecActions<T>,
  client: KubeClient,
  action: CanaryAction,
  namespace: string,
  name: string,
): Promise<ActionOutcome> {
  try {
    const obj = (await client.get(kind.resource, namespace, name)) as unknown as T;
    switch (action) {
      case 'promote': {
        let promotion: ReturnType<SpecActions<T>['promote']>;
        try {
          promotion = kind.promote(obj);
        } catch (e) {
          return { status: 409, message: (e as Error).message };
        }
        await kind.patchSpec(client, namespace, name, promotion.patch);
        return { status: 200, message: promotion.message };
      }
      case 'abort':
        await kind.patchSpec(client, namespace, name, { ...kind.abortPatch });
        return { status: 200, message: kind.aborted };
      default: {
        const never: never = action;
        throw new Error(`unknown action ${String(never)}`);
      }
    }
  } catch (e) {
    if (e instanceof KubeApiError) return { status: e.status, message: e.message };
    return { status: 502, message: `the API server did not answer: ${(e as Error).message}` };
  }
}

const CANARY_ACTIONS: SpecActions<Canary> = {
  resource: R.Canary,
  promote: (canary) => {
    const patch = promotionPatch(canary);
    return { patch: { ...patch }, message: `approved revision ${patch.promotion.approvedRevision}` };
  },
  abortPatch: ABORT_PATCH,
  patchSpec: patchCanarySpec,
  aborted: 'abort set; the candidate goes to 0% at the next reconcile',
};

/** Runs one action on a Canary as the viewer. */
export const runCanaryAction = (
  client: KubeClient,
  action: CanaryAction,
  namespace: string,
  name: string,
): Promise<ActionOutcome> => runSpecAction(CANARY_ACTIONS, client, action, namespace, name);
