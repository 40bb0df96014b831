// The quality/cost router on prompt embeddings: for users who run an embeddings server, a logistic
// regression on the embedding of the prompt (from an OpenAI-compatible /v1/embeddings API) instead of the
// built-in hashed features. The model file names the embedding model and its dimensions, so that vectors
// from another model are refused rather than scored; its calibration turns the route's target quality into
// a threshold exactly as the built-in model's does (router-model.ts). Pure: the vectors come from outside.
import { z } from 'zod';
import { CalibrationPoints } from './router-model.js';

export const EMBEDDING_ROUTER_KIND = 'beastmode.dev/quality-cost-router-embeddings';

/** The prompt text embedded: its first characters (embedding servers cut long inputs anyway). */
export const EMBEDDED_CHARS = 2000;

export const EmbeddingRouterFile = z
  .object({
    kind: z.literal(EMBEDDING_ROUTER_KIND),
    version: z.string().min(1).max(64),
    /** The embedding model the router was trained on (the "model" asked of the embeddings API). */
    embeddingModel: z.string().min(1).max(256),
    dimensions: z.number().int().min(8).max(8192),
    bias: z.number(),
    /** One weight per dimension. */
    weights: z.array(z.number()),
    calibration: CalibrationPoints,
    trainedOn: z.string().max(512).optional(),
  })
  .strict()
  .refine((m) => m.weights.length === m.dimensions, 'weights must have one entry per dimension');
export type EmbeddingRouterFile = z.infer<typeof EmbeddingRouterFile>;

export interface EmbeddingRouterModel {
  version: string;
  embeddingModel: string;
  dimensions: number;
  bias: number;
  weights: Float64Array;
  calibration: readonly { quality: number; threshold: number }[];
  thresholds: Map<number, number>;
}

/** Validates an embedding router file; throws with the reason when it is not one. */
export function loadEmbeddingRouterModel(json: unknown): EmbeddingRouterModel {
  const parsed = EmbeddingRouterFile.safeParse(json);
  if (!parsed.success) throw new Error(`not an embedding router model: ${z.prettifyError(parsed.error)}`);
  const m = parsed.data;
  return {
    version: m.version,
    embeddingModel: m.embeddingModel,
    dimensions: m.dimensions,
    bias: m.bias,
    weights: Float64Array.from(m.weights),
    calibration: [...m.calibration].sort((a, b) => a.quality - b.quality),
    thresholds: new Map(),
  };
}

/** The features of a vector: [dimension, value] pairs, as the trainer's logistic regression reads them. */
export const embeddingFeatures = (vector: readonly number[]): [number, number][] =>
  vector.map((v, i) => [i, v]);

/** p(weak suffices) of a prompt from its embedding; throws when the vector has the wrong length. */
export function weakSufficesFromEmbedding(model: EmbeddingRouterModel, vector: readonly number[]): number {
  if (vector.length !== model.dimensions)
    throw new Error(
      `the embedding has ${vector.length} dimensions, the router ${model.version} was trained on ${model.dimensions}`,
    );
  let z = model.bias;
  for (let i = 0; i < vector.length; i++) z += (model.weights[i] as number) * (vector[i] as number);
  return 1 / (1 + Math.exp(-z));
}
