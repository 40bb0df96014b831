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
import type { Canary } from '../../../api/v1alpha1/index.js';
import { KubeApiError, KubeClient } from '../../../kube/client.js';
import { readInCluster, readKubeconfig } from '../../../kube/kubeconfig.js';
import { R } from '../../../kube/resources.js';

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

/** Runs one action as the viewer; API refusals come back with their status and the server's message. */
export async function runCanaryAction(
  client: KubeClient,
  action: CanaryAction,
  namespace: string,
  name: string,
): Promise<ActionOutcome> {
  try {
    const canary = (await client.get(R.Canary, namespace, name)) as unknown as Canary;
    switch (action) {
      case 'promote': {
        let patch: ReturnType<typeof promotionPatch>;
        try {
          patch = promotionPatch(canary);
        } catch (e) {
          return { status: 409, message: (e as Error).message };
        }
        await patchCanarySpec(client, namespace, name, { ...patch });
        return { status: 200, message: `approved revision ${patch.promotion.approvedRevision}` };
      }
      case 'abort':
        await patchCanarySpec(client, namespace, name, { ...ABORT_PATCH });
        return { status: 200, message: 'abort set; the candidate goes to 0% at the next reconcile' };
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
