// AutoscalingPolicy: scales a ModelGateway or a model server Deployment on CPU, memory, in-flight
// requests or request rate, rendered as an autoscaling/v2 HorizontalPodAutoscaler.
import { z } from 'zod';
import { dnsLabel, resource, statusBase, withRules } from './common.js';

export const AUTOSCALING_METRICS = ['cpu', 'memory', 'inflight-requests', 'requests-per-second'] as const;

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
    })
    .strict(),
  [
    {
      rule: "self.type in ['cpu', 'memory'] ? has(self.targetAverageUtilization) && !has(self.targetAverage) : has(self.targetAverage) && !has(self.targetAverageUtilization)",
      message:
        'cpu and memory take targetAverageUtilization; inflight-requests and requests-per-second take targetAverage',
      check: (m) =>
        m.type === 'cpu' || m.type === 'memory'
          ? m.targetAverageUtilization !== undefined && m.targetAverage === undefined
          : m.targetAverage !== undefined && m.targetAverageUtilization === undefined,
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
  ],
);
export type AutoscalingPolicySpec = z.infer<typeof AutoscalingPolicySpec>;

export const AutoscalingPolicyStatus = z
  .object({
    ...statusBase,
    currentReplicas: z.number().int().min(0).optional(),
    desiredReplicas: z.number().int().min(0).optional(),
    horizontalPodAutoscaler: z.string().max(253).optional(),
  })
  .strict();

export const AutoscalingPolicy = resource(
  'AutoscalingPolicy',
  AutoscalingPolicySpec,
  AutoscalingPolicyStatus,
);
export type AutoscalingPolicy = z.infer<typeof AutoscalingPolicy>;
