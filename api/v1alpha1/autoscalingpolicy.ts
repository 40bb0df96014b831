// AutoscalingPolicy: scales a ModelGateway or a model server Deployment on CPU, memory, or what the gateways
// see (requests in flight, request rate, time to first token, the share of attempts answered 429), optionally
// ahead of a forecast, rendered as an autoscaling/v2 HorizontalPodAutoscaler. The LLM signals are served to
// the HPA by the operator itself (external.metrics.k8s.io).
import { z } from 'zod';
import { dnsLabel, duration, objectName, resource, statusBase, withRules } from './common.js';

export const AUTOSCALING_METRICS = [
  'cpu',
  'memory',
  'inflight-requests',
  'requests-per-second',
  'ttft-p95',
  'throttled-ratio',
] as const;

/** Signals whose target is per replica (the HPA divides the total by the replicas). */
export const PER_REPLICA_METRICS = ['inflight-requests', 'requests-per-second'] as const;
/** Signals whose target is the value itself (a latency, a share). */
export const VALUE_METRICS = ['ttft-p95', 'throttled-ratio'] as const;

export const ScalingMetric = withRules(
  z
    .object({
      type: z.enum(AUTOSCALING_METRICS),
      targetAverageUtilization: z
        .number()
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe('Percent of requests; cpu, memory'),
      targetAverage: z
        .number()
        .gt(0)
        .max(1_000_000)
        .optional()
        .describe('Per pod; inflight-requests, requests-per-second'),
      targetValue: z
        .number()
        .gt(0)
        .max(1_000_000)
        .optional()
        .describe('The value itself; ttft-p95 (seconds), throttled-ratio (0-1)'),
    })
    .strict(),
  [
    {
      rule:
        "self.type in ['cpu', 'memory'] ? has(self.targetAverageUtilization) && !has(self.targetAverage) && !has(self.targetValue) : " +
        "self.type in ['inflight-requests', 'requests-per-second'] ? has(self.targetAverage) && !has(self.targetAverageUtilization) && !has(self.targetValue) : " +
        'has(self.targetValue) && !has(self.targetAverage) && !has(self.targetAverageUtilization)',
      message:
        'cpu and memory take targetAverageUtilization; inflight-requests and requests-per-second take targetAverage; ttft-p95 and throttled-ratio take targetValue',
      check: (m) => {
        const has = [m.targetAverageUtilization, m.targetAverage, m.targetValue].map((v) => v !== undefined);
        if (m.type === 'cpu' || m.type === 'memory') return has.join() === 'true,false,false';
        if (m.type === 'inflight-requests' || m.type === 'requests-per-second')
          return has.join() === 'false,true,false';
        return has.join() === 'false,false,true';
      },
    },
  ],
);

export const ScalingPolicy = z
  .object({
    type: z.enum(['Pods', 'Percent']),
    value: z.number().int().min(1).max(10_000),
    periodSeconds: z.number().int().min(1).max(1800),
  })
  .strict();

export const ScalingRules = z
  .object({
    stabilizationWindowSeconds: z.number().int().min(0).max(3600).optional(),
    policies: z.array(ScalingPolicy).min(1).max(4).optional(),
  })
  .strict();

export const AutoscalingPolicySpec = withRules(
  z
    .object({
      targetRef: z
        .object({
          kind: z.enum(['ModelGateway', 'Deployment']),
          name: dnsLabel(),
        })
        .strict(),
      minReplicas: z.number().int().min(1).max(1000).default(1),
      maxReplicas: z.number().int().min(1).max(1000),
      metrics: z.array(ScalingMetric).min(1).max(8),
      backend: z
        .object({
          route: objectName().describe('The ModelRoute whose backend the Deployment serves'),
          name: dnsLabel().describe('The backend name in that route'),
        })
        .strict()
        .optional()
        .describe(
          "A model server pool (targetRef Deployment): scale on the gateway's view of this backend; required there for the LLM signals",
        ),
      predictive: z
        .object({
          horizon: duration().default('10m').describe('How far ahead the forecast looks'),
          seasonality: duration().default('24h').describe('The cycle the traffic repeats (a day, a week)'),
        })
        .strict()
        .optional()
        .describe(
          'Scale up ahead of a forecast of the request rate (requests-per-second must be among the metrics): the HPA takes the larger of the rate and its forecast',
        ),
      fallback: z
        .object({
          failureThreshold: z.number().int().min(1).max(100).default(3),
          replicas: z.number().int().min(1).max(1000),
        })
        .strict()
        .optional()
        .describe(
          'When the gateways cannot be read failureThreshold scrapes in a row, hold this many replicas (never below what other working metrics demand)',
        ),
      behavior: z
        .object({ scaleUp: ScalingRules.optional(), scaleDown: ScalingRules.optional() })
        .strict()
        .optional(),
    })
    .strict(),
  [
    {
      rule: 'self.minReplicas <= self.maxReplicas',
      message: 'minReplicas must not exceed maxReplicas',
      check: (s) => s.minReplicas <= s.maxReplicas,
      path: ['minReplicas'],
    },
    {
      rule: 'self.metrics.all(m, self.metrics.exists_one(x, x.type == m.type))',
      message: 'each metric type may appear once',
      check: (s) => new Set(s.metrics.map((m) => m.type)).size === s.metrics.length,
      path: ['metrics'],
    },
    {
      rule: "self.targetRef.kind == 'Deployment' && self.metrics.exists(m, !(m.type in ['cpu', 'memory'])) ? has(self.backend) : true",
      message:
        'a Deployment (a model server pool) scaled on LLM signals needs backend: the route and backend it serves',
      check: (s) =>
        !(
          s.targetRef.kind === 'Deployment' && s.metrics.some((m) => m.type !== 'cpu' && m.type !== 'memory')
        ) || s.backend !== undefined,
      path: ['backend'],
    },
    {
      rule: "self.targetRef.kind == 'ModelGateway' ? !has(self.backend) : true",
      message: 'backend applies to a model server Deployment; a ModelGateway is scaled on its own signals',
      check: (s) => s.targetRef.kind !== 'ModelGateway' || s.backend === undefined,
      path: ['backend'],
    },
    {
      rule: "has(self.predictive) ? self.metrics.exists(m, m.type == 'requests-per-second') : true",
      message: 'predictive scaling forecasts the request rate: add a requests-per-second metric',
      check: (s) => s.predictive === undefined || s.metrics.some((m) => m.type === 'requests-per-second'),
      path: ['predictive'],
    },
    {
      rule: 'has(self.fallback) ? self.fallback.replicas >= self.minReplicas && self.fallback.replicas <= self.maxReplicas : true',
      message: 'fallback.replicas must be between minReplicas and maxReplicas',
      check: (s) =>
        s.fallback === undefined ||
        (s.fallback.replicas >= s.minReplicas && s.fallback.replicas <= s.maxReplicas),
      path: ['fallback', 'replicas'],
    },
  ],
);
export type AutoscalingPolicySpec = z.infer<typeof AutoscalingPolicySpec>;

export const AutoscalingPolicyStatus = z
  .object({
    ...statusBase,
    currentReplicas: z.number().int().min(0).optional(),
    desiredReplicas: z.number().int().min(0).optional(),
    horizontalPodAutoscaler: z.string().max(253).optional(),
    currentMetrics: z
      .array(z.object({ type: z.string().max(64), value: z.string().max(64) }).strict())
      .max(16)
      .optional()
      .describe('The metric values the HPA last saw'),
    forecast: z
      .object({
        requestsPerSecond: z.string().max(64).describe('The forecast rate at the horizon'),
        accuracy: z.string().max(16).optional().describe('1 - MAPE of the recent forecasts, as a percentage'),
      })
      .strict()
      .optional(),
  })
  .strict();

export const AutoscalingPolicy = resource(
  'AutoscalingPolicy',
  AutoscalingPolicySpec,
  AutoscalingPolicyStatus,
);
export type AutoscalingPolicy = z.infer<typeof AutoscalingPolicy>;
