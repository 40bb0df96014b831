// The API resources the project reads and writes (operator, gateway, CLI, demo, local cluster): group,
// version, plural and scope, and the REST paths built from them. One table, so informers, the applier and
// RBAC agree on what exists.
import { API_GROUP, API_GROUP_VERSION } from '../api/v1alpha1/index.js';

export interface ResourceType {
  /** A short id used as the informer key: "ModelGateway", "Deployment", … */
  kind: string;
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

const core = (kind: string, plural: string): ResourceType => ({
  kind,
  group: '',
  version: 'v1',
  plural,
  namespaced: true,
});
const ours = (kind: string, plural: string): ResourceType => ({
  kind,
  group: API_GROUP,
  version: API_GROUP_VERSION,
  plural,
  namespaced: true,
});

export const R = {
  ModelGateway: ours('ModelGateway', 'modelgateways'),
  ModelRoute: ours('ModelRoute', 'modelroutes'),
  Canary: ours('Canary', 'canaries'),
  AutoscalingPolicy: ours('AutoscalingPolicy', 'autoscalingpolicies'),
  Experiment: ours('Experiment', 'experiments'),
  ConfigMap: core('ConfigMap', 'configmaps'),
  Secret: core('Secret', 'secrets'),
  Service: core('Service', 'services'),
  ServiceAccount: core('ServiceAccount', 'serviceaccounts'),
  Deployment: { kind: 'Deployment', group: 'apps', version: 'v1', plural: 'deployments', namespaced: true },
  PodDisruptionBudget: {
    kind: 'PodDisruptionBudget',
    group: 'policy',
    version: 'v1',
    plural: 'poddisruptionbudgets',
    namespaced: true,
  },
  NetworkPolicy: {
    kind: 'NetworkPolicy',
    group: 'networking.k8s.io',
    version: 'v1',
    plural: 'networkpolicies',
    namespaced: true,
  },
  HorizontalPodAutoscaler: {
    kind: 'HorizontalPodAutoscaler',
    group: 'autoscaling',
    version: 'v2',
    plural: 'horizontalpodautoscalers',
    namespaced: true,
  },
  Role: {
    kind: 'Role',
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'roles',
    namespaced: true,
  },
  RoleBinding: {
    kind: 'RoleBinding',
    group: 'rbac.authorization.k8s.io',
    version: 'v1',
    plural: 'rolebindings',
    namespaced: true,
  },
  Lease: { kind: 'Lease', group: 'coordination.k8s.io', version: 'v1', plural: 'leases', namespaced: true },
  Event: { kind: 'Event', group: 'events.k8s.io', version: 'v1', plural: 'events', namespaced: true },
  /** Cluster-scoped: the local cluster registers its fake Node. */
  Node: { kind: 'Node', group: '', version: 'v1', plural: 'nodes', namespaced: false },
} as const satisfies Record<string, ResourceType>;

export type KnownKind = keyof typeof R;

export function apiVersionOf(r: ResourceType): string {
  return r.group === '' ? r.version : `${r.group}/${r.version}`;
}

/** The collection path: /api/v1/namespaces/ns/configmaps, or cluster-wide without a namespace. */
export function collectionPath(r: ResourceType, namespace?: string): string {
  const base = r.group === '' ? `/api/${r.version}` : `/apis/${r.group}/${r.version}`;
  return r.namespaced && namespace !== undefined
    ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.plural}`
    : `${base}/${r.plural}`;
}

export function objectPath(r: ResourceType, namespace: string, name: string): string {
  return `${collectionPath(r, namespace)}/${encodeURIComponent(name)}`;
}

export function resourceForKind(kind: string): ResourceType {
  const r = (R as Record<string, ResourceType>)[kind];
  if (!r) throw new Error(`unknown resource kind ${kind}`);
  return r;
}
