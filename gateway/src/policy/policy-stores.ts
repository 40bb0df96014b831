// The policy layer's stateful parts, built once with the first config and keyed by the gateway's name: the
// limiter (on Redis, the pod's shared store, or memory), the response cache with its store, fence and
// semantic layer (its index entries shared through Redis with a Redis cache store), and the feedback
// recorder with its ledger.
import type { Redis } from 'ioredis';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import { CacheFence } from '../cache/fence.js';
import { MemoryCacheStore } from '../cache/memory-store.js';
import { RedisCacheStore } from '../cache/redis-store.js';
import { ResponseCache } from '../cache/response-cache.js';
import { embedText } from '../cache/semantic/embedder.js';
import { guardRefusal } from '../cache/semantic/guard.js';
import { SemanticLayer } from '../cache/semantic/semantic-layer.js';
import { SharedEntries } from '../cache/semantic/shared-entries.js';
import { FeedbackRecorder, MemoryFeedbackLedger, type ScoreListener } from '../feedback/feedback.js';
import { RedisFeedbackLedger } from '../feedback/redis-ledger.js';
import { Limiter } from '../limits/limiter.js';
import { MemoryLimitStore } from '../limits/memory-store.js';
import { ResilientLimitStore } from '../limits/resilient-store.js';
import type { PolicyDeps, PolicySettings } from './policy.js';
import type { Clock } from './types.js';

/** The stateful parts, built with the first config (their keys are prefixed with the gateway's name). */
export interface Stores {
  limiter: Limiter;
  resilient: ResilientLimitStore | undefined;
  memoryCache: MemoryCacheStore;
  cache: ResponseCache;
  fence: CacheFence;
  feedback: FeedbackRecorder;
  /** The semantic index entries shared through Redis (with a Redis cache store). */
  shared: SharedEntries | undefined;
}

/** What the stores are built from besides the config: the process's wiring and the policy's own parts. */
export interface StoresWiring {
  settings: PolicySettings;
  deps: PolicyDeps;
  clock: Clock;
  redis: Redis | undefined;
  /** Who is told of each accepted feedback score, asked at each score (it may be set later). */
  scoreListener: () => ScoreListener | undefined;
}

export function buildStores(config: GatewayConfig, wiring: StoresWiring): Stores {
  const { metrics, logger } = wiring.deps;
  const { clock, redis, settings } = wiring;
  const prefix = `bm:${config.gateway.namespace}/${config.gateway.name}`;
  const failurePolicy = config.redis?.failurePolicy ?? 'local';
  const resilient =
    redis && new ResilientLimitStore(redis, { failurePolicy, logger, clock, upGauge: metrics.redisUp });
  const pod = wiring.deps.pod;
  const limiter = new Limiter(resilient ?? pod?.limits ?? new MemoryLimitStore(), {
    clock,
    prefix,
    ...(settings.defaultMaxOutputTokens ? { defaultMaxOutputTokens: settings.defaultMaxOutputTokens } : {}),
  });
  const memoryCache = new MemoryCacheStore({ clock, maxEntries: config.cache.maxEntries });
  const store =
    redis && (settings.cacheStore ?? 'redis') === 'redis'
      ? new RedisCacheStore(redis, { prefix, compress: settings.compressCache ?? true, clock })
      : memoryCache;
  const fence = new CacheFence({ store, metrics, logger, clock });
  const semantic = new SemanticLayer({
    embed: embedText,
    guard: guardRefusal,
    now: () => clock.now(),
    ...(metrics.cacheSemanticRefusals !== undefined ? { refusals: metrics.cacheSemanticRefusals } : {}),
    ...(metrics.cacheSemanticEmbeddings !== undefined ? { embeddings: metrics.cacheSemanticEmbeddings } : {}),
    log: logger,
    ...(wiring.deps.dispatcher !== undefined ? { dispatcher: wiring.deps.dispatcher } : {}),
  });
  const shared =
    redis && store.kind === 'redis'
      ? new SharedEntries(redis, prefix, semantic, logger, () => clock.now())
      : undefined;
  if (shared !== undefined) semantic.share(shared);
  const cache = new ResponseCache({
    store,
    lookups: metrics,
    logger,
    maxEntryBytes: config.cache.maxEntryBytes,
    fence,
    semantic,
  });
  const ledger = redis ? new RedisFeedbackLedger(redis, prefix) : (pod?.ledger ?? new MemoryFeedbackLedger());
  const feedback = new FeedbackRecorder(
    wiring.deps.recent,
    ledger,
    metrics.feedbackScore,
    (p) => fence.serves(p),
    wiring.scoreListener,
    (id, score) => cache.scored(id, score),
  );
  return { limiter, resilient, memoryCache, cache, fence, feedback, shared };
}
