// The GatewayConfig form of an Experiment on its route: the variants with their current weights (from the
// controller's status: fixed or Thompson-adapted), the subject key, and whether a winner is promoted. The
// gateway assigns each subject a variant by weighted rendezvous hashing on (experiment, subject, variant),
// serves it through the variant's backend with its request template, and counts the per-request metrics
// under the variant's name (EXPERIMENT_SERIES).
import { z } from 'zod';
import { dnsLabel, objectName } from './common.js';
import { RequestTemplate, type Experiment } from './experiment.js';

export const CompiledExperiment = z
  .object({
    name: objectName(),
    /** Changes when the variants or metrics change, so that metrics of different designs never mix. */
    revision: z.string().max(64),
    subject: z.enum(['user', 'api-key', 'request']),
    variants: z
      .array(
        z
          .object({
            name: dnsLabel(),
            backend: dnsLabel(),
            weight: z.number().min(0).max(1),
            template: RequestTemplate.optional(),
          })
          .strict(),
      )
      .min(1)
      .max(8),
    /** A promoted winner: every subject gets it (the others keep weight 0 and are not assigned). */
    promoted: dnsLabel().optional(),
  })
  .strict();
export type CompiledExperiment = z.infer<typeof CompiledExperiment>;

/**
 * What a running or promoted Experiment puts on its route; undefined when it does not (pending, aborted,
 * concluded without promotion). Weights come from status (the controller's current split) and fall back
 * to the spec's fixed weights, normalised to sum to 1.
 */
export function experimentOverlayFor(experiment: Experiment): CompiledExperiment | undefined {
  const { spec, status } = experiment;
  const phase = status?.phase;
  if (spec.abort || (phase !== 'Running' && phase !== 'Promoted')) return undefined;
  const promoted = phase === 'Promoted' ? status?.promotedVariant : undefined;
  if (phase === 'Promoted' && promoted === undefined) return undefined;
  const current = new Map((status?.variants ?? []).map((v) => [v.name, v.weight]));
  const raw = spec.variants.map((v) =>
    promoted !== undefined ? (v.name === promoted ? 1 : 0) : (current.get(v.name) ?? v.weight),
  );
  const total = raw.reduce((a, b) => a + b, 0);
  if (!(total > 0)) return undefined;
  return {
    name: experiment.metadata.name,
    revision: status?.specHash ?? '',
    subject: spec.subject,
    variants: spec.variants.map((v, i) => ({
      name: v.name,
      backend: v.backend,
      weight: (raw[i] ?? 0) / total,
      ...(v.template !== undefined ? { template: v.template } : {}),
    })),
    ...(promoted !== undefined ? { promoted } : {}),
  };
}
