// Renders what a ModelGateway owns: ServiceAccount, Deployment, Service, PodDisruptionBudget, NetworkPolicy
// (gateway-network-policy.ts), a Role and RoleBinding that let its pods read their own ConfigMap and nothing
// else, and the GatewayConfig ConfigMap.
// Every Secret the gateway uses (backend credentials, the API keys, the Redis URL) reaches its pods as a
// Secret volume under one directory, read by the kubelet: neither the pods' ServiceAccount nor the operator
// needs any permission on Secrets. Pure: plain objects in, plain objects out.
import {
  API_VERSION,
  GATEWAY_CONFIG_KEY,
  routerModelRefs,
  type GatewayConfig,
  type ModelGateway,
} from '../../../api/v1alpha1/index.js';
import type { KubeObject, OwnerReference } from '../../../kube/client.js';
import { renderGatewayNetworkPolicy } from './gateway-network-policy.js';

export const GATEWAY_PORT = 8080;
/**
 * The gateway process's side of this contract lives in gateway/src/config/deployment.ts (environment
 * names) and gateway/src/main.ts (flags); gateway/src/config/contract.test.ts renders these objects and
 * checks the gateway accepts them.
 */
export const GATEWAY_SECRETS_DIR = '/etc/beastmode/secrets';
/**
 * V8 settings of the gateway container. A young generation bounded at 8 MiB per semi-space keeps each
 * minor collection short: measured on one pinned core at 500 req/s, p99 9–13 ms instead of 17–19 ms with
 * V8's own sizing, which grows it to 32 MiB and more under load (see gateway/README.md, Performance).
 */
export const GATEWAY_NODE_OPTIONS = '--max-semi-space-size=8';
/** Who sets Deployment.spec.replicas: the operator, or an HPA (then the operator never sends it). */
export const REPLICAS_OWNER_ANNOTATION = 'beastmode.dev/replicas-owner';
export const MANAGED_BY = 'beastmode-operator';

export const gatewayObjectName = (gw: string): string => `${gw}-gateway`;
export const gatewayConfigMapName = (gw: string): string => `${gw}-gateway-config`;

export function gatewaySelector(gw: string): Record<string, string> {
  return { 'app.kubernetes.io/name': 'beastmode-gateway', 'app.kubernetes.io/instance': gw };
}

export function gatewayLabels(gw: string): Record<string, string> {
  return {
    ...gatewaySelector(gw),
    'app.kubernetes.io/component': 'gateway',
    'app.kubernetes.io/managed-by': MANAGED_BY,
    'beastmode.dev/gateway': gw,
  };
}

export function controllerRef(
  owner: { metadata: { name: string; uid?: string } },
  kind: string,
): OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind,
    name: owner.metadata.name,
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** A Secret the gateway's pods mount. */
export interface GatewaySecret {
  name: string;
  /**
   * Route credentials are optional: a missing Secret (or key) must not keep the pods from starting while
   * the other routes work; the gateway reports it and the route's status names it. The API keys and the
   * Redis URL are not: without them the gateway cannot serve at all, and the pod's FailedMount event says so.
   */
  optional: boolean;
}

export interface GatewayRenderInput {
  gateway: ModelGateway;
  config: GatewayConfig;
  /** Secrets the pods mount (API keys, Redis URL, credentials of accepted routes), sorted by name. */
  secrets: GatewaySecret[];
  defaultImage: string;
  /** An AutoscalingPolicy targets this gateway: spec.replicas is the HPA's, never ours. */
  autoscaled: boolean;
}

export interface GatewayObjects {
  serviceAccount: KubeObject;
  role: KubeObject;
  roleBinding: KubeObject;
  configMap: KubeObject;
  deployment: KubeObject;
  service: KubeObject;
  podDisruptionBudget: KubeObject;
  /** Absent when spec.networkPolicy.enabled is false: the controller deletes the one it made before. */
  networkPolicy: KubeObject | undefined;
}

function meta(
  gw: ModelGateway,
  name: string,
  extra: Partial<KubeObject['metadata']> = {},
): KubeObject['metadata'] {
  return {
    name,
    namespace: gw.metadata.namespace ?? 'default',
    labels: gatewayLabels(gw.metadata.name),
    ownerReferences: [controllerRef(gw, 'ModelGateway')],
    ...extra,
  };
}

type Spec = ModelGateway['spec'];

/** Where the pods find a key of a Secret of their namespace: the layout the gateway's --secrets-dir reads. */
export const gatewaySecretPath = (namespace: string, secret: string, key?: string): string =>
  [GATEWAY_SECRETS_DIR, namespace, secret, ...(key !== undefined ? [key] : [])].join('/');

/**
 * One Secret volume per Secret, each mounted whole at <dir>/<namespace>/<name>: a new key of a Secret
 * already mounted appears without a rollout, and the kubelet keeps every file current as the Secret changes.
 */
function secretVolumes(
  namespace: string,
  secrets: GatewaySecret[],
): { volumes: Record<string, unknown>[]; mounts: Record<string, unknown>[] } {
  // Owner and group read only: the files belong to the pod's fsGroup, which the gateway's user is in.
  const volumes = secrets.map((s, i) => ({
    name: `secret-${i}`,
    secret: { secretName: s.name, defaultMode: 0o440, ...(s.optional ? { optional: true } : {}) },
  }));
  const mounts = secrets.map((s, i) => ({
    name: `secret-${i}`,
    mountPath: gatewaySecretPath(namespace, s.name),
    readOnly: true,
  }));
  return { volumes, mounts };
}

/** Environment, volumes and mounts: log level, the Redis URL's file, every Secret under one directory. */
function runtimeInputs(
  spec: Spec,
  namespace: string,
  secrets: GatewaySecret[],
): {
  env: Record<string, unknown>[];
  volumes: Record<string, unknown>[];
  mounts: Record<string, unknown>[];
} {
  const env: Record<string, unknown>[] = [
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: 'BEASTMODE_LOG_LEVEL', value: spec.logLevel ?? 'info' },
    { name: 'NODE_OPTIONS', value: GATEWAY_NODE_OPTIONS },
  ];
  if (spec.redis) {
    const { name, key } = spec.redis.urlSecretRef;
    env.push({ name: 'BEASTMODE_REDIS_URL_FILE', value: gatewaySecretPath(namespace, name, key) });
  }
  const mounted = secretVolumes(namespace, secrets);
  return {
    env,
    volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '64Mi' } }, ...mounted.volumes],
    mounts: [{ name: 'tmp', mountPath: '/tmp' }, ...mounted.mounts],
  };
}

/** Whole cores of a CPU quantity ("2", "1500m", 3), at least 1; undefined when none is set. */
export function wholeCores(cpu: string | number | undefined): number | undefined {
  if (cpu === undefined) return undefined;
  const text = String(cpu);
  const cores = text.endsWith('m') ? Number(text.slice(0, -1)) / 1000 : Number(text);
  return Number.isFinite(cores) ? Math.max(1, Math.floor(cores)) : undefined;
}

/** Processes per pod: as declared, else one per whole core of the CPU limit. */
export function gatewayWorkers(spec: Spec): number {
  return spec.workers ?? wholeCores(spec.resources?.limits?.cpu) ?? 1;
}

function containerResources(spec: Spec): Record<string, unknown> {
  return {
    requests: {
      cpu: spec.resources?.requests?.cpu ?? '100m',
      memory: spec.resources?.requests?.memory ?? '128Mi',
    },
    limits: {
      memory: spec.resources?.limits?.memory ?? '512Mi',
      ...(spec.resources?.limits?.cpu !== undefined ? { cpu: spec.resources.limits.cpu } : {}),
    },
  };
}

const probe = (path: string, periodSeconds: number, failureThreshold: number) => ({
  httpGet: { path, port: 'http', scheme: 'HTTP' },
  periodSeconds,
  timeoutSeconds: 2,
  failureThreshold,
});

function renderGatewayContainer(
  input: GatewayRenderInput,
  env: Record<string, unknown>[],
  mounts: Record<string, unknown>[],
): Record<string, unknown> {
  const gw = input.gateway;
  const ns = gw.metadata.namespace ?? 'default';
  return {
    name: 'gateway',
    image: gw.spec.image ?? input.defaultImage,
    ...(gw.spec.imagePullPolicy ? { imagePullPolicy: gw.spec.imagePullPolicy } : {}),
    // The image's entrypoint dispatches on the first argument (Dockerfile); the port is explicit so the
    // container port, the probes and the Service's targetPort (all by the name "http") agree with it.
    args: [
      'gateway',
      '--configmap',
      `${ns}/${gatewayConfigMapName(gw.metadata.name)}`,
      '--secrets-dir',
      GATEWAY_SECRETS_DIR,
      '--port',
      String(GATEWAY_PORT),
      ...(gatewayWorkers(gw.spec) > 1 ? ['--workers', String(gatewayWorkers(gw.spec))] : []),
    ],
    ports: [{ name: 'http', containerPort: GATEWAY_PORT, protocol: 'TCP' }],
    env,
    resources: containerResources(gw.spec),
    readinessProbe: probe('/readyz', 5, 2),
    livenessProbe: probe('/healthz', 10, 3),
    lifecycle: { preStop: { sleep: { seconds: 5 } } },
    securityContext: {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      runAsUser: 65532,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    },
    volumeMounts: mounts,
  };
}

/** Spread across zones, then nodes, without refusing to schedule when the cluster cannot. */
function spreadConstraints(selector: Record<string, string>): Record<string, unknown>[] {
  return ['topology.kubernetes.io/zone', 'kubernetes.io/hostname'].map((topologyKey) => ({
    maxSkew: 1,
    topologyKey,
    whenUnsatisfiable: 'ScheduleAnyway',
    labelSelector: { matchLabels: selector },
  }));
}

function renderPodSpec(input: GatewayRenderInput): Record<string, unknown> {
  const { gateway: gw } = input;
  const name = gw.metadata.name;
  const { env, volumes, mounts } = runtimeInputs(gw.spec, gw.metadata.namespace ?? 'default', input.secrets);
  return {
    serviceAccountName: gatewayObjectName(name),
    automountServiceAccountToken: true,
    enableServiceLinks: false,
    // Long enough for the preStop pause and for in-flight streams to finish after the endpoint is removed.
    terminationGracePeriodSeconds: 60,
    securityContext: {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(gw.spec.nodeSelector ? { nodeSelector: gw.spec.nodeSelector } : {}),
    topologySpreadConstraints: spreadConstraints(gatewaySelector(name)),
    containers: [renderGatewayContainer(input, env, mounts)],
    volumes,
  };
}

export function renderGatewayDeployment(input: GatewayRenderInput): KubeObject {
  const gw = input.gateway;
  const name = gw.metadata.name;
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(gw, gatewayObjectName(name), {
      annotations: { [REPLICAS_OWNER_ANNOTATION]: input.autoscaled ? 'autoscaler' : 'operator' },
    }),
    spec: {
      ...(input.autoscaled ? {} : { replicas: gw.spec.replicas ?? 2 }),
      selector: { matchLabels: gatewaySelector(name) },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: gatewayLabels(name),
          ...(gw.spec.podAnnotations ? { annotations: gw.spec.podAnnotations } : {}),
        },
        spec: renderPodSpec(input),
      },
    },
  };
}

/**
 * Lets the gateway's pods read their own ConfigMap and the router models its routes name, nothing else:
 * they are watched through the API so that a weight change applies in about a second (a mounted ConfigMap
 * takes up to a minute). Secrets are mounted.
 */
function renderGatewayRole(gw: ModelGateway, config: GatewayConfig): KubeObject {
  const models = config.routes.flatMap((r) => routerModelRefs(r.selection).map((ref) => ref.name));
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: meta(gw, gatewayObjectName(gw.metadata.name)),
    rules: [
      {
        apiGroups: [''],
        resources: ['configmaps'],
        resourceNames: [...new Set([gatewayConfigMapName(gw.metadata.name), ...models.sort()])],
        verbs: ['get', 'list', 'watch'],
      },
    ],
  };
}

function renderGatewayConfigMap(gw: ModelGateway, config: GatewayConfig): KubeObject {
  const name = gw.metadata.name;
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: meta(gw, gatewayConfigMapName(name), {
      labels: { ...gatewayLabels(name), 'beastmode.dev/config': 'gateway' },
      annotations: { 'beastmode.dev/config-revision': config.revision },
    }),
    data: { [GATEWAY_CONFIG_KEY]: JSON.stringify(config) },
  };
}

function renderGatewayService(gw: ModelGateway): KubeObject {
  const name = gw.metadata.name;
  const svc = gw.spec.service ?? { type: 'ClusterIP', port: 8080 };
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(gw, gatewayObjectName(name), svc.annotations ? { annotations: svc.annotations } : {}),
    spec: {
      type: svc.type ?? 'ClusterIP',
      selector: gatewaySelector(name),
      ports: [{ name: 'http', port: svc.port ?? 8080, targetPort: 'http', protocol: 'TCP' }],
    },
  };
}

export function renderGatewayObjects(input: GatewayRenderInput): GatewayObjects {
  const gw = input.gateway;
  const name = gw.metadata.name;
  const ns = gw.metadata.namespace ?? 'default';
  const objName = gatewayObjectName(name);
  return {
    serviceAccount: {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: meta(gw, objName),
      automountServiceAccountToken: true,
    },
    role: renderGatewayRole(gw, input.config),
    roleBinding: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(gw, objName),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: objName },
      subjects: [{ kind: 'ServiceAccount', name: objName, namespace: ns }],
    },
    configMap: renderGatewayConfigMap(gw, input.config),
    deployment: renderGatewayDeployment(input),
    service: renderGatewayService(gw),
    podDisruptionBudget: {
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(gw, objName),
      spec: {
        maxUnavailable: gw.spec.podDisruptionBudget?.maxUnavailable ?? 1,
        selector: { matchLabels: gatewaySelector(name) },
      },
    },
    networkPolicy: renderGatewayNetworkPolicy({
      spec: gw.spec,
      metadata: meta(gw, objName),
      podSelector: gatewaySelector(name),
      port: GATEWAY_PORT,
    }),
  };
}

export function gatewayAddress(gw: ModelGateway): string {
  const ns = gw.metadata.namespace ?? 'default';
  return `http://${gatewayObjectName(gw.metadata.name)}.${ns}.svc.cluster.local:${gw.spec.service?.port ?? 8080}`;
}
