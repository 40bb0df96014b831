// ModelGateway: the data plane Deployment with its Service, config, disruption budget and identity.
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
    logLevel: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
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
