// ModelGateway: the data plane Deployment with its Service, config, PDB, NetworkPolicy and identity.
import { z } from 'zod';
import {
  LocalObjectReference,
  ResourceRequirements,
  SecretKeySelector,
  dnsLabel,
  quantity,
  resource,
  statusBase,
  withRules,
} from './common.js';
import { GatewayTracingSpec } from './tracing.js';

export const GatewayServiceSpec = z
  .object({
    type: z.enum(['ClusterIP', 'NodePort', 'LoadBalancer']).default('ClusterIP'),
    port: z.number().int().min(1).max(65535).default(8080).describe('Port the Service exposes'),
    annotations: z.record(z.string().max(317), z.string().max(4096)).optional(),
  })
  .strict();

export const GatewayAuthSpec = z
  .object({
    apiKeysSecretRef: LocalObjectReference.describe(
      'Secret whose "keys.yaml" lists the API keys: name, team, models, and the key or its sha256',
    ),
  })
  .strict();

export const GatewayCacheSpec = z
  .object({
    maxEntries: z
      .number()
      .int()
      .min(1)
      .max(10_000_000)
      .default(10_000)
      .describe('LRU bound per gateway replica'),
    maxEntryBytes: z.number().int().min(1024).max(16_777_216).default(1_048_576),
  })
  .strict();

export const GatewayRedisSpec = z
  .object({
    urlSecretRef: SecretKeySelector.describe('Secret key holding a redis:// or rediss:// URL'),
    failurePolicy: z
      .enum(['local', 'closed'])
      .default('local')
      .describe(
        'When Redis is unreachable: "local" keeps enforcing limits per replica, "closed" refuses limited requests',
      ),
  })
  .strict();

export const GatewayLimitsSpec = z
  .object({
    maxRequestBytes: z.number().int().min(1024).max(67_108_864).default(4_194_304),
    maxConcurrentRequests: z.number().int().min(1).max(100_000).default(4096),
    requestTimeoutSeconds: z.number().int().min(1).max(3600).default(600),
    headersTimeoutSeconds: z.number().int().min(1).max(300).default(30),
  })
  .strict();

/** A CIDR ("10.96.0.0/12", "fd00::/8") or a host name, "*." in front for every name under a domain. */
const EGRESS_ENTRY = String.raw`^(([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*/[0-9]{1,3}|(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*)$`;
const EGRESS_ENTRY_MESSAGE =
  'egress.allow entries must be CIDRs such as 10.96.0.0/12 or fd00::/8, or lower-case host names such as vllm.models.svc.cluster.local or *.models.svc.cluster.local';

/** One entry: checked by the rule on the list, so the API server says what to write instead of a pattern. */
export const egressAllowEntry = z
  .string()
  .min(1)
  .max(253)
  .refine((e) => new RegExp(EGRESS_ENTRY).test(e), EGRESS_ENTRY_MESSAGE);

export const GatewayEgressSpec = withRules(
  z
    .object({
      allow: z
        .array(egressAllowEntry)
        .max(64)
        .default([])
        .describe(
          'Non-public destinations the gateway may call (loopback, private, CGNAT, link-local, unique-local and other internal ranges): CIDRs, or host names ("*.models.svc.cluster.local") whose addresses may be internal (never link-local, unspecified or multicast: only a CIDR opens those). Public addresses are always allowed; everything else a backend or embeddings URL resolves to is refused when the gateway connects',
        ),
    })
    .strict(),
  [
    {
      rule: `!has(self.allow) || self.allow.all(e, e.matches(r'${EGRESS_ENTRY}'))`,
      message: EGRESS_ENTRY_MESSAGE,
      check: (s) => s.allow.every((e) => new RegExp(EGRESS_ENTRY).test(e)),
      path: ['allow'],
    },
  ],
);

/** An IPv4 or IPv6 CIDR, as a NetworkPolicy's ipBlock takes it. */
const cidr = () =>
  z
    .string()
    .min(3)
    .max(64)
    .regex(
      /^(([0-9]{1,3}\.){3}[0-9]{1,3}\/([0-9]|[12][0-9]|3[0-2])|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*\/([0-9]|[1-9][0-9]|1[01][0-9]|12[0-8]))$/,
      'must be a CIDR such as 10.0.0.0/8 or fd00::/8',
    );

/** The matchLabels part of a metav1.LabelSelector: enough to name pods or namespaces by their labels. */
const MatchLabelsSelector = z
  .object({
    matchLabels: z
      .record(z.string().min(1).max(317), z.string().max(63))
      .optional()
      .describe('Labels an object must all carry; empty or absent selects every object'),
  })
  .strict();

/** networking.k8s.io/v1 NetworkPolicyPeer, limited to matchLabels selectors. */
export const NetworkPolicyPeer = withRules(
  z
    .object({
      podSelector: MatchLabelsSelector.optional().describe(
        "Pods with these labels: in the gateway's namespace, or in the namespaces namespaceSelector selects",
      ),
      namespaceSelector: MatchLabelsSelector.optional().describe(
        'Pods of the namespaces with these labels ({} selects every namespace)',
      ),
      ipBlock: z
        .object({
          cidr: cidr().describe('Addresses allowed, such as 10.0.0.0/8'),
          except: z.array(cidr()).max(16).optional().describe('Ranges inside cidr that stay excluded'),
        })
        .strict()
        .optional()
        .describe(
          'Addresses, usually outside the cluster (whether a range matches pod addresses depends on the network plugin)',
        ),
    })
    .strict(),
  [
    {
      rule: 'has(self.ipBlock) != (has(self.podSelector) || has(self.namespaceSelector))',
      message: 'a peer is either an ipBlock or a podSelector and/or namespaceSelector',
      check: (p) =>
        (p.ipBlock !== undefined) !== (p.podSelector !== undefined || p.namespaceSelector !== undefined),
    },
  ],
);
export type NetworkPolicyPeer = z.infer<typeof NetworkPolicyPeer>;

export const GatewayNetworkPolicySpec = z
  .object({
    enabled: z
      .boolean()
      .default(true)
      .describe(
        "Render a NetworkPolicy that denies the gateway's pods all traffic but what they need; false removes it",
      ),
    ingressFrom: z
      .array(NetworkPolicyPeer)
      .max(32)
      .optional()
      .describe(
        "Who may call the gateway's port; empty or absent: anyone. The port also serves /metrics: when set, include the operator's pods (canary analysis, autoscaling) and Prometheus",
      ),
    apiServerPorts: z
      .array(z.number().int().min(1).max(65535))
      .min(1)
      .max(8)
      .default([443, 6443])
      .describe(
        "Ports of the Kubernetes API server the pods may reach (they watch their GatewayConfig through it): the kubernetes Service's (443) and the API server's own (often 6443), since network plugins may judge a connection after the Service forwards it",
      ),
    apiServerCIDRs: z
      .array(cidr())
      .min(1)
      .max(16)
      .optional()
      .describe('Addresses of the Kubernetes API server; absent: any address on apiServerPorts'),
  })
  .strict();
export type GatewayNetworkPolicySpec = z.infer<typeof GatewayNetworkPolicySpec>;

export const ModelGatewaySpec = z
  .object({
    replicas: z
      .number()
      .int()
      .min(0)
      .max(1000)
      .default(2)
      .describe('Gateway pods; ignored while an AutoscalingPolicy targets this gateway'),
    image: z.string().min(1).max(512).optional().describe("Gateway image; defaults to the operator's own"),
    imagePullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).optional(),
    resources: ResourceRequirements.optional(),
    workers: z
      .number()
      .int()
      .min(1)
      .max(64)
      .optional()
      .describe(
        'Gateway processes per pod, sharing its port, limits, feedback and metrics; defaults to the CPU limit in whole cores (at least 1)',
      ),
    service: GatewayServiceSpec.default({ type: 'ClusterIP', port: 8080 }),
    auth: GatewayAuthSpec.optional(),
    redis: GatewayRedisSpec.optional(),
    cache: GatewayCacheSpec.optional(),
    limits: GatewayLimitsSpec.optional(),
    egress: GatewayEgressSpec.optional().describe(
      "Where backends of the attached routes may point besides public addresses (routes are written by tenants; this list is the platform team's)",
    ),
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
    tracing: GatewayTracingSpec.optional().describe(
      'OpenTelemetry traces of the requests served, sent to an OTLP/HTTP collector; absent: no tracing',
    ),
    networkPolicy: GatewayNetworkPolicySpec.optional().describe(
      "The NetworkPolicy around the gateway's pods; absent: enabled with the defaults. In: the gateway port. Out: DNS, the API server, Redis when set, and backends anywhere but link-local addresses (cloud metadata)",
    ),
    podDisruptionBudget: z
      .object({ maxUnavailable: quantity().default(1) })
      .strict()
      .optional()
      .describe('Defaults to maxUnavailable 1'),
    nodeSelector: z.record(z.string().max(317), z.string().max(63)).optional(),
    podAnnotations: z.record(z.string().max(317), z.string().max(4096)).optional(),
  })
  .strict();
export type ModelGatewaySpec = z.infer<typeof ModelGatewaySpec>;

export const ModelGatewayStatus = z
  .object({
    ...statusBase,
    replicas: z.number().int().min(0).optional(),
    readyReplicas: z.number().int().min(0).optional(),
    selector: z
      .string()
      .max(1024)
      .optional()
      .describe('Label selector of the gateway pods (scale subresource)'),
    address: z.string().max(512).optional().describe('In-cluster URL of the gateway'),
    attachedRoutes: z.number().int().min(0).optional(),
    configHash: z.string().max(64).optional(),
  })
  .strict();
export type ModelGatewayStatus = z.infer<typeof ModelGatewayStatus>;

export const ModelGateway = withRules(resource('ModelGateway', ModelGatewaySpec, ModelGatewayStatus), [
  {
    rule: 'size(self.metadata.name) <= 50',
    message: 'metadata.name must be at most 50 characters: it prefixes the names of the objects it owns',
    check: (g) => g.metadata.name.length <= 50 && dnsLabel(50).safeParse(g.metadata.name).success,
    path: ['metadata', 'name'],
  },
]);
export type ModelGateway = z.infer<typeof ModelGateway>;
