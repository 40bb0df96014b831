// A ModelRoute's selection: the policy that picks a backend per request, the quality/cost router's settings
// (its target quality, its model, the learning router), and domain routes.
import { z } from 'zod';
import { dnsLabel, objectName, withRules } from './common.js';

/** The version of the quality/cost router model the gateway bundles (gateway/src/routing/models). */
export const BUNDLED_ROUTER_VERSION = 'v1';

export const SELECTION_POLICIES = ['weighted', 'least-latency', 'least-cost', 'quality-cost'] as const;

/** The domains the gateway's prompt classifier knows (gateway/src/routing/domain-model.ts). */
export const PROMPT_DOMAINS = [
  'code',
  'math',
  'law',
  'medicine',
  'finance',
  'science',
  'humanities',
  'social-science',
  'creative-writing',
  'customer-support',
  'general-chat',
] as const;
export type PromptDomain = (typeof PROMPT_DOMAINS)[number];

export const RouterLearning = z
  .object({
    exploration: z
      .number()
      .min(0)
      .max(0.2)
      .default(0.05)
      .describe(
        "Most share of the route's requests sent against the learned plan, to keep learning (to the weak backend only at the rate whose expected quality loss takes at most half the quality budget)",
      ),
    goodScore: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe('A /v1/feedback score at or above this is a good answer, below it a bad one'),
  })
  .strict();

const ConfigMapKeyRef = z
  .object({
    name: objectName(),
    key: z.string().min(1).max(253).default('model.json'),
  })
  .strict();

/** The fields naming an OpenAI-compatible embeddings server; `fallback` says what a late or failed call does. */
export const embeddingsServerFields = (fallback: string) => ({
  url: z
    .string()
    .max(2048)
    .regex(/^https?:\/\//, 'must be an http(s) URL')
    .describe(
      'Base URL of an OpenAI-compatible embeddings API, e.g. http://tei.models.svc:8080/v1 (POST <url>/embeddings); no credentials are sent',
    ),
  model: z.string().min(1).max(256).describe('The embedding model asked for (the request\'s "model")'),
  dimensions: z
    .number()
    .int()
    .min(8)
    .max(8192)
    .optional()
    .describe('Asked of models that can shorten their vectors (the request\'s "dimensions")'),
  timeoutMs: z
    .number()
    .int()
    .min(5)
    .max(2000)
    .default(50)
    .describe(`Longest wait for a prompt's embedding; past it (or on any error) ${fallback}`),
});

export const RouterEmbeddings = z
  .object({
    ...embeddingsServerFields('the built-in model decides that request'),
    routerModel: z
      .object({ configMapRef: ConfigMapKeyRef })
      .strict()
      .describe(
        "The router trained on this embedding model (`beastmode router train --embeddings-url`): a ConfigMap of the route's namespace, validated and hot-swapped like qualityCost.model",
      ),
  })
  .strict();

export const DomainRoute = z
  .object({
    domains: z.array(z.enum(PROMPT_DOMAINS)).min(1).max(PROMPT_DOMAINS.length),
    backend: dnsLabel().describe('The backend that serves prompts of these domains first'),
    minConfidence: z
      .number()
      .min(0)
      .max(1)
      .default(0.5)
      .describe("Below this probability of the prompt's domain the route's policy decides instead"),
  })
  .strict();

export const Selection = withRules(
  z
    .object({
      policy: z.enum(SELECTION_POLICIES).default('weighted'),
      stickiness: z
        .enum(['user', 'api-key', 'none'])
        .default('user')
        .describe('Weighted choice is sticky per user (x-user-id header or "user" field) or per API key'),
      qualityCost: z
        .object({
          strongBackend: dnsLabel(),
          weakBackend: dnsLabel(),
          threshold: z
            .number()
            .min(0)
            .max(1)
            .default(0.5)
            .describe('Prompts scored above this difficulty go to the strong backend'),
          targetQuality: z
            .number()
            .min(0.5)
            .max(1)
            .optional()
            .describe(
              "Decide with the learned router (the bundled model, docs/router.md) at the threshold that kept this share of the strong backend's quality on its calibration subjects; without it the difficulty heuristic and threshold decide",
            ),
          model: z
            .object({ configMapRef: ConfigMapKeyRef })
            .strict()
            .optional()
            .describe(
              "The router model file (`beastmode router train`'s output) from a ConfigMap of the route's namespace instead of the bundled model: validated by the gateway, swapped when the ConfigMap changes, the last good one kept when a change is not a model",
            ),
          embeddings: RouterEmbeddings.optional().describe(
            'Score prompts on their embedding from an in-cluster embeddings server with a router trained on it; the built-in model (qualityCost.model or the bundled one) decides when the embedding is late or fails',
          ),
          learning: RouterLearning.optional().describe(
            "Improve on the learned router from what the gateway observes — feedback scores on answers and failures — per prompt domain, keeping targetQuality of the strong backend's quality as estimated (docs/router.md); shared by replicas through Redis when configured",
          ),
        })
        .strict()
        .optional(),
      domains: z
        .array(DomainRoute)
        .max(PROMPT_DOMAINS.length)
        .optional()
        .describe(
          'Send prompts of a domain (code, math, law, …) to a specialised backend first; other prompts go by the policy',
        ),
    })
    .strict(),
  [
    {
      rule: '!has(self.qualityCost) || !has(self.qualityCost.model) || has(self.qualityCost.targetQuality)',
      message: 'selection.qualityCost.model needs targetQuality: the model decides at that quality',
      check: (s) => s.qualityCost?.model === undefined || s.qualityCost.targetQuality !== undefined,
    },
    {
      rule: '!has(self.qualityCost) || !has(self.qualityCost.learning) || has(self.qualityCost.targetQuality)',
      message: 'selection.qualityCost.learning needs targetQuality: the quality the learner must keep',
      check: (s) => s.qualityCost?.learning === undefined || s.qualityCost.targetQuality !== undefined,
    },
    {
      rule: '!has(self.qualityCost) || !has(self.qualityCost.embeddings) || has(self.qualityCost.targetQuality)',
      message: 'selection.qualityCost.embeddings needs targetQuality: its router decides at that quality',
      check: (s) => s.qualityCost?.embeddings === undefined || s.qualityCost.targetQuality !== undefined,
    },
    {
      rule: '!has(self.qualityCost) || !has(self.qualityCost.embeddings) || !has(self.qualityCost.learning)',
      message:
        "selection.qualityCost: embeddings and learning cannot be combined: the learner's cells are bands of the built-in model's score",
      check: (s) => s.qualityCost?.embeddings === undefined || s.qualityCost.learning === undefined,
    },
    {
      rule: '!has(self.domains) || self.domains.all(a, self.domains.all(b, a == b || !a.domains.exists(d, d in b.domains)))',
      message: 'selection.domains: a domain may appear in one entry only',
      check: (s) => {
        const seen = new Set<string>();
        return (s.domains ?? []).every((r) => r.domains.every((d) => !seen.has(d) && (seen.add(d), true)));
      },
    },
    {
      rule: "self.policy != 'quality-cost' || has(self.qualityCost)",
      message: 'selection.qualityCost is required when policy is quality-cost',
      check: (s) => s.policy !== 'quality-cost' || s.qualityCost !== undefined,
    },
  ],
);

/** The ConfigMaps holding router models that a selection names, with what each holds. */
export function routerModelRefs(selection: {
  qualityCost?:
    | {
        model?: { configMapRef: { name: string; key: string } } | undefined;
        embeddings?: { routerModel: { configMapRef: { name: string; key: string } } } | undefined;
      }
    | undefined;
}): { name: string; key: string; holds: 'features' | 'embeddings' }[] {
  const qc = selection.qualityCost;
  const refs: { name: string; key: string; holds: 'features' | 'embeddings' }[] = [];
  if (qc?.model !== undefined) refs.push({ ...qc.model.configMapRef, holds: 'features' });
  if (qc?.embeddings !== undefined)
    refs.push({ ...qc.embeddings.routerModel.configMapRef, holds: 'embeddings' });
  return refs;
}
