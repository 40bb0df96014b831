// The policies a ModelRoute puts around its backends (`ModelRoute.spec`): fallback to the next backend,
// retries, timeouts, the response cache (exact or semantic), rate limits and budgets.
import { z } from 'zod';
import { dnsLabel, duration, withRules } from './common.js';
import { embeddingsServerFields } from './selection.js';

export const FALLBACK_CAUSES = ['5xx', '429', 'timeout', 'connect-error'] as const;

export const Fallback = z
  .object({
    // Not "on": YAML 1.1 (kubectl) reads a bare `on` key as the boolean true.
    when: z
      .array(z.enum(FALLBACK_CAUSES))
      .min(1)
      .max(4)
      .default([...FALLBACK_CAUSES])
      .describe('Which upstream failures move a request to the next backend'),
    maxAttempts: z.number().int().min(1).max(10).default(3).describe('Upstream attempts per request, in all'),
  })
  .strict();

export const Retry = z
  .object({
    attempts: z
      .number()
      .int()
      .min(0)
      .max(5)
      .default(1)
      .describe('Retries on the same backend before falling over'),
    backoff: duration().default('100ms'),
    maxBackoff: duration().default('2s'),
    maxRetryAfter: duration().default('10s').describe('A longer Retry-After falls over instead of waiting'),
  })
  .strict();

export const Timeouts = z
  .object({
    firstToken: duration()
      .default('30s')
      .describe('Until response headers (non-streaming) or the first chunk'),
    total: duration().default('300s'),
  })
  .strict();

/**
 * The semantic cache's similarity threshold when a route names none (docs/semantic-cache.md): with the
 * built-in embedder, the lowest threshold on a 0.05 grid whose wrong-hit rate, averaged over insert fractions
 * 0.3, 0.5 and 0.7 and five seeds (not the one reported), stays ≤ 1% on the GPTCache paraphrase pairs. A
 * lexical embedder needs a high bar: it tells a rephrasing from a related question by shared words only.
 */
export const DEFAULT_SEMANTIC_THRESHOLD = 0.9;

export const SemanticCache = z
  .object({
    threshold: z
      .number()
      .min(0.5)
      .max(1)
      .default(DEFAULT_SEMANTIC_THRESHOLD)
      .describe(
        "Least cosine similarity of the prompt's last user turn to a cached one for a hit. It belongs to the embedder: the default is the built-in embedder's; with the bundled sentence encoder (beastmode embeddings) use 0.96 for as few wrong hits. beastmode cache eval measures any embedder",
      ),
    guard: z
      .boolean()
      .default(true)
      .describe(
        'Refuse a hit when the two prompts differ in numbers, names and identifiers, negation or the requested format',
      ),
    maxEntries: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .default(10_000)
      .describe(
        "Entries in the route's similarity index per gateway replica (least recently hit dropped first)",
      ),
    embeddings: z
      .object(embeddingsServerFields('the request is a semantic miss (the exact cache still answers it)'))
      .strict()
      .optional()
      .describe(
        'Embed prompts with an embeddings server (e.g. an in-cluster text-embeddings server) instead of the built-in lexical embedder',
      ),
  })
  .strict();

export const RouteCache = withRules(
  z
    .object({
      mode: z
        .enum(['off', 'exact', 'semantic'])
        .default('off')
        .describe(
          'exact: identical requests; semantic: also requests whose last user turn says the same thing (the rest of the request identical)',
        ),
      semantic: SemanticCache.optional().describe('Settings of mode semantic'),
      ttl: duration().default('5m'),
      scope: z
        .enum(['route', 'team', 'api-key'])
        .default('api-key')
        .describe('Who may share an entry; "route" shares across all callers'),
      cacheNonDeterministic: z.boolean().default(false).describe('Also cache requests with temperature > 0'),
      keepAcrossRevisions: z
        .boolean()
        .default(false)
        .describe(
          "Declares a backend's revisions equivalent: its cached answers keep being served after a promotion or " +
            'a spec change. A canary keeps its own entries, and those of a rolled-back canary are never served',
        ),
    })
    .strict(),
  [
    {
      rule: "!has(self.semantic) || self.mode == 'semantic'",
      message: 'cache.semantic applies to mode semantic only',
      check: (c) => c.semantic === undefined || c.mode === 'semantic',
    },
  ],
);

export const LIMIT_SUBJECTS = ['api-key', 'team', 'route'] as const;

export const RateLimit = withRules(
  z
    .object({
      per: z.enum(LIMIT_SUBJECTS).default('api-key'),
      requestsPerMinute: z.number().int().min(1).max(10_000_000).optional(),
      tokensPerMinute: z.number().int().min(1).max(1_000_000_000).optional(),
    })
    .strict(),
  [
    {
      rule: 'has(self.requestsPerMinute) || has(self.tokensPerMinute)',
      message: 'a rate limit needs requestsPerMinute or tokensPerMinute',
      check: (r) => r.requestsPerMinute !== undefined || r.tokensPerMinute !== undefined,
    },
  ],
);

export const Budget = withRules(
  z
    .object({
      per: z.enum(LIMIT_SUBJECTS).default('api-key'),
      usd: z.number().gt(0).max(10_000_000),
      window: z.enum(['day', 'month']).default('month').describe('Calendar day or month, UTC'),
      onExhausted: z.enum(['reject', 'fallback']).default('reject'),
      fallbackBackend: dnsLabel()
        .optional()
        .describe('With onExhausted: fallback, the (cheaper) backend to use'),
    })
    .strict(),
  [
    {
      rule: "self.onExhausted != 'fallback' || has(self.fallbackBackend)",
      message: 'fallbackBackend is required when onExhausted is fallback',
      check: (b) => b.onExhausted !== 'fallback' || b.fallbackBackend !== undefined,
    },
  ],
);
