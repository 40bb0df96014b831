// The chart's exact RBAC on the cluster under test, and kubeconfigs that act as a ServiceAccount: the admin's
// own credentials plus `as: system:serviceaccount:<ns>:<name>` in the kubeconfig user (impersonation), so a
// process run with one is authorised exactly as that ServiceAccount, by the real API server's authorizer.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, parse, stringify } from 'yaml';
import type { KubeObject } from '../../kube/client.js';
import { helm, kubectl, kubectlOk, kubeconfigPath, repoRoot } from './env.js';

/** The kinds of the chart that make up the operator's identity and permissions. */
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);

export const serviceAccountUser = (namespace: string, name: string): string =>
  `system:serviceaccount:${namespace}:${name}`;

/** A copy of the admin kubeconfig whose user acts as `user` (Impersonate-User on every request). */
export function impersonatingKubeconfig(user: string, namespace?: string): string {
  const doc = parse(readFileSync(kubeconfigPath(), 'utf8')) as {
    users: { name: string; user: Record<string, unknown> }[];
    contexts: { name: string; context: Record<string, unknown> }[];
    'current-context': string;
  };
  const context = doc.contexts.find((c) => c.name === doc['current-context'])?.context ?? {};
  for (const u of doc.users) if (u.name === context.user) u.user.as = user;
  if (namespace !== undefined) context.namespace = namespace;
  const file = join(mkdtempSync(join(tmpdir(), 'e2e-as-')), 'kubeconfig');
  writeFileSync(file, stringify(doc), { mode: 0o600 });
  return file;
}

export interface ChartRbac {
  /** The operator's ServiceAccount, as `system:serviceaccount:<ns>:<name>`. */
  user: string;
  serviceAccount: string;
  /** Every RBAC object applied, as rendered. */
  objects: KubeObject[];
  /** A kubeconfig acting as the operator's ServiceAccount. */
  kubeconfig: string;
  /** Deletes the cluster-scoped objects and those outside the release namespace (the rest go with it). */
  remove(): Promise<void>;
}

/**
 * `helm template` of the chart (release in `namespace`, with `--set` values), and its ServiceAccount,
 * ClusterRole/Roles and bindings applied as rendered.
 */
export async function applyChartRbac(o: {
  release: string;
  namespace: string;
  set?: string[];
}): Promise<ChartRbac> {
  const args = ['template', o.release, join(repoRoot, 'charts', 'beastmode'), '--namespace', o.namespace];
  for (const s of o.set ?? []) args.push('--set', s);
  const rendered = await helm(args);
  if (rendered.code !== 0) throw new Error(`helm template failed: ${rendered.stderr}`);
  const objects = parseAllDocuments(rendered.stdout)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((d): d is KubeObject => d !== null && RBAC_KINDS.has(d.kind ?? ''));
  await kubectlOk(['apply', '-f', '-'], objects.map((d) => stringify(d)).join('---\n'));
  const sa = objects.find((d) => d.kind === 'ServiceAccount');
  if (!sa) throw new Error('the chart rendered no ServiceAccount');
  const user = serviceAccountUser(o.namespace, sa.metadata.name);
  return {
    user,
    serviceAccount: sa.metadata.name,
    objects,
    kubeconfig: impersonatingKubeconfig(user, o.namespace),
    remove: async () => {
      for (const d of objects) {
        const kind = (d.kind ?? '').toLowerCase();
        if (d.kind?.startsWith('Cluster'))
          await kubectl(['delete', kind, d.metadata.name, '--ignore-not-found']);
        else if (d.metadata.namespace !== undefined && d.metadata.namespace !== o.namespace)
          await kubectl(['delete', kind, d.metadata.name, '-n', d.metadata.namespace, '--ignore-not-found']);
      }
    },
  };
}

/** `kubectl auth can-i <verb> <resource> --as=<user>` in a namespace, or across all of them with `all`. */
export async function canI(
  user: string,
  verb: string,
  resource: string,
  where: { namespace: string } | 'all',
): Promise<boolean> {
  const scope = where === 'all' ? ['--all-namespaces'] : ['-n', where.namespace];
  const res = await kubectl(['auth', 'can-i', verb, resource, ...scope, `--as=${user}`]);
  const answer = res.stdout.trim();
  if (answer !== 'yes' && answer !== 'no') throw new Error(`kubectl auth can-i: ${res.stderr}`);
  return answer === 'yes';
}
