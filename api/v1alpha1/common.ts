// Shared building blocks of the v1alpha1 API: bounded strings, durations, references, conditions, and
// the helper that states a cross-field rule once for both zod and the API server (CEL).
import { z } from 'zod';

export const GROUP = 'beastmode.dev' as const;
export const VERSION = 'v1alpha1' as const;
export const API_VERSION = `${GROUP}/${VERSION}` as const;

/** A cross-field rule: `check` runs in zod, `rule` is the same rule in CEL for the API server. */
export interface Rule<T> {
  rule: string;
  message: string;
  check: (value: T) => boolean;
  /** Where zod reports the issue, relative to the object (the API server reports it on the object). */
  path?: (string | number)[];
}

/**
 * Attaches rules to an object schema: each becomes a zod refinement and an `x-kubernetes-validations`
 * entry, so the rule is written once and enforced by both.
 */
export function withRules<S extends z.ZodType>(schema: S, rules: Rule<z.output<S>>[]): S {
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (!r.check(value)) ctx.addIssue({ code: 'custom', message: r.message, path: r.path ?? [] });
    }
  });
  return refined.meta({ 'x-kubernetes-validations': rules.map(({ rule, message }) => ({ rule, message })) });
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A DNS-1123 label: lowercase letters, digits and '-', as Kubernetes object names in most places. */
export const dnsLabel = (max = 63) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(
      DNS_LABEL,
      'must be lowercase letters, digits and "-", starting and ending with a letter or digit',
    );

/** A DNS-1123 subdomain, as Secret and Service names. */
export const objectName = () =>
  z
    .string()
    .min(1)
    .max(253)
    .regex(
      DNS_SUBDOMAIN,
      'must be lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
    );

/** A Go-style duration: "250ms", "30s", "5m", "1h30m". */
export const duration = () =>
  z
    .string()
    .min(2)
    .max(32)
    .regex(/^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$/, 'must be a duration such as "250ms", "30s", "5m" or "1h"');

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds in a duration string already validated by `duration()`. */
export function durationMs(value: string): number {
  let total = 0;
  for (const m of value.matchAll(/([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g)) {
    total += Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 0);
  }
  return total;
}

/** A resource quantity ("500m", "1Gi", 2): int-or-string, as in core/v1. */
export const quantity = () =>
  z.union([
    z.number().int().min(0).max(1_000_000),
    z
      .string()
      .max(32)
      .regex(
        /^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/,
        'must be a quantity such as "500m", "2" or "1Gi"',
      ),
  ]);

/** A percentage 0–100. */
export const percent = () => z.number().min(0).max(100);

export const LocalObjectReference = z.object({ name: objectName() }).strict();
export type LocalObjectReference = z.infer<typeof LocalObjectReference>;

export const SecretKeySelector = z
  .object({
    name: objectName().describe('Name of a Secret in the same namespace'),
    key: z
      .string()
      .min(1)
      .max(253)
      .regex(/^[-._a-zA-Z0-9]+$/, 'must be a Secret data key: letters, digits, "-", "_" and "."')
      .describe('Key within the Secret'),
  })
  .strict();
export type SecretKeySelector = z.infer<typeof SecretKeySelector>;

export const ResourceRequirements = z
  .object({
    requests: z.object({ cpu: quantity().optional(), memory: quantity().optional() }).strict().optional(),
    limits: z.object({ cpu: quantity().optional(), memory: quantity().optional() }).strict().optional(),
  })
  .strict();
export type ResourceRequirements = z.infer<typeof ResourceRequirements>;

/** metav1.Condition. */
export const Condition = z
  .object({
    type: z.string().min(1).max(316),
    status: z.enum(['True', 'False', 'Unknown']),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, 'must be CamelCase'),
    message: z.string().max(32768),
    observedGeneration: z.number().int().min(0).optional(),
    lastTransitionTime: z.string().max(64),
  })
  .strict();
export type Condition = z.infer<typeof Condition>;

export const Conditions = z.array(Condition).max(16);

/** The metadata the schemas check in manifests; everything else is the API server's. */
export const ObjectMeta = z
  .object({
    name: objectName(),
    namespace: dnsLabel().optional(),
    labels: z.record(z.string().max(317), z.string().max(63)).optional(),
    annotations: z.record(z.string().max(317), z.string().max(262144)).optional(),
    uid: z.string().optional(),
    generation: z.number().int().optional(),
    resourceVersion: z.string().optional(),
    creationTimestamp: z.string().optional(),
    deletionTimestamp: z.string().optional(),
    finalizers: z.array(z.string()).optional(),
    ownerReferences: z.array(z.unknown()).optional(),
    managedFields: z.array(z.unknown()).optional(),
  })
  .passthrough();
export type ObjectMeta = z.infer<typeof ObjectMeta>;

/** Common status fields: kstatus- and `kubectl wait`-compatible. */
export const statusBase = {
  observedGeneration: z.number().int().min(0).optional(),
  conditions: Conditions.optional(),
};

/** Builds the schema of a whole object of a kind. */
export function resource<K extends string, Spec extends z.ZodType, Status extends z.ZodType>(
  kind: K,
  spec: Spec,
  status: Status,
) {
  return z.object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal(kind),
    metadata: ObjectMeta,
    spec,
    status: status.optional(),
  });
}
