// The policy facade the server's request pipeline calls: auth → admit (scopes, rate limits, budgets) →
// cache lookup → [select, proxy] → store cache → settle (actual usage, cost metrics) — plus feedback.
// It owns the policy state (keys, limit store, cache, Redis connection); the server owns HTTP.
import type { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import winston, { type Logger } from 'winston';
import type { CompiledBackend, CompiledRoute, GatewayConfig } from '../../../api/v1alpha1/gatewayconfig.js';
import { METRICS } from '../../../api/v1alpha1/metrics.js';
import { CostMetrics } from '../accounting/cost-metrics.js';
import { StreamUsageCounter, usageOfBody } from '../accounting/usage.js';
import { authenticate, authorizeModel, type AuthResult, type Headers } from '../auth/authenticate.js';
import { ApiKeySet } from '../auth/key-set.js';
import { KeysFileSource } from '../auth/keys-source.js';
import type { CacheEntry } from '../cache/entry.js';
import { MemoryCacheStore } from '../cache/memory-store.js';
import { RedisCacheStore } from '../cache/redis-store.js';
import { ResponseCache, type CacheLookup, type StreamRecorder } from '../cache/response-cache.js';
import {
  FeedbackRecorder,
  MemoryFeedbackLedger,
  type FeedbackResponse,
  type RecentRequests,
} from '../feedback/feedback.js';
import { RedisFeedbackLedger } from '../feedback/redis-ledger.js';
import { Limiter, type LimitTicket } from '../limits/limiter.js';
import { MemoryLimitStore } from '../limits/memory-store.js';
import { ResilientLimitStore } from '../limits/resilient-store.js';
import { counter, gauge } from './metrics.js';
import { connectRedis, redisReady } from './redis.js';
import {
  systemClock,
  type Caller,
  type ChatRequest,
  type Clock,
  type PolicyRefusal,
  type Usage,
} from './types.js';

export type { Caller, ChatRequest, Clock, PolicyRefusal, Usage } from './types.js';
export type { AuthResult, Headers } from '../auth/authenticate.js';
export type { CacheLookup, CachedResponse, StreamRecorder } from '../cache/response-cache.js';
export type { CacheEntry } from '../cache/entry.js';
export type { FeedbackResponse, RecentRequest, RecentRequests } from '../feedback/feedback.js';
export { StreamUsageCounter } from '../accounting/usage.js';

/** Not in api/v1alpha1/metrics.ts yet: 1 when the shared Redis answers, 0 while the gateway works without it. */
export const REDIS_UP_METRIC = METRICS.redisUp;

export interface PolicyDeps {
  clock?: Clock;
  logger?: Logger;
  /** The registry /metrics serves. Metrics are registered idempotently (shared names are reused). */
  registry?: Registry;
  /** Path of keys.yaml from the mounted Secret; needed when config.auth is set (else every key is refused). */
  keysFile?: string;
  keysPollMs?: number;
  /** redis:// URL from the Secret in redis.urlSecretRef, or a ready client. Without it: per-replica state. */
  redis?: string | Redis;
  /** Where cached responses live when Redis is given. Default "redis" (shared by replicas). */
  cacheStore?: 'memory' | 'redis';
  /** Deflate cache values in Redis (measured: see docs/policy.md). Default true. */
  compressCache?: boolean;
  /** Looks up a request the server served recently, by x-request-id, for feedback. */
  recentRequests?: RecentRequests;
  /** Output tokens assumed for budgets and token limits when a request sets no max_tokens. Default 4096. */
  defaultMaxOutputTokens?: number;
}

/** An admitted request. Pass it back to settle exactly once (extra calls are no-ops). */
export interface PolicyTicket {
  readonly caller: Caller;
  readonly route: CompiledRoute;
  /** Prompt tokens estimated at admission (used when a provider reports no usage). */
  readonly promptTokens: number;
  /** The worst-case cost reserved against budgets, USD. */
  readonly worstCaseUsd: number;
  /** Set when a budget with onExhausted: fallback is exhausted: serve from this backend only. */
  readonly pinnedBackend?: string;
  readonly limits: LimitTicket;
}

export type Admission = { ok: true; ticket: PolicyTicket } | { ok: false; refusal: PolicyRefusal };

/** What happened upstream, for settle. */
export type SettleOutcome =
  /** No upstream tokens were spent: a cache hit, or a failure before any backend answered. */
  | { kind: 'none' }
  /** A complete JSON response: usage from its body, else counted from its choices. */
  | { kind: 'body'; backend: CompiledBackend; body: unknown }
  /** A streamed (possibly aborted) response metered by meterStream(). */
  | { kind: 'stream'; backend: CompiledBackend; meter: StreamUsageCounter }
  /** Usage known by other means. */
  | { kind: 'usage'; backend: CompiledBackend; usage: Usage };

export interface Policy {
  authenticate(headers: Headers): AuthResult;
  admit(caller: Caller, route: CompiledRoute, request: ChatRequest): Promise<Admission>;
  lookupCache(caller: Caller, route: CompiledRoute, request: ChatRequest): Promise<CacheLookup>;
  /** Stores a response after a miss: { kind: 'body', body } or recordStream().entry(). Never throws. */
  storeCache(lookup: CacheLookup, entry: CacheEntry): Promise<boolean>;
  /** Records the SSE frames of a streamed response for storeCache. */
  recordStream(): StreamRecorder;
  /** Meters a streamed response (feed it every chunk sent to the client) for settle. */
  meterStream(ticket: PolicyTicket): StreamUsageCounter;
  settle(ticket: PolicyTicket, outcome: SettleOutcome): Promise<{ usage: Usage; costUsd: number }>;
  /** POST /v1/feedback: `body` is the parsed JSON body. */
  recordFeedback(body: unknown, caller: Caller): Promise<FeedbackResponse>;
  /** Applies a new GatewayConfig (auth on/off, failure policy, cache bounds). */
  updateConfig(config: GatewayConfig): void;
  /** Resolves once Redis is connected (or after 2 s without it). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

function defaultLogger(config: GatewayConfig): Logger {
  return winston.createLogger({
    level: config.logLevel,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { kind: 'ModelGateway', namespace: config.gateway.namespace, name: config.gateway.name },
    transports: [new winston.transports.Console()],
  });
}

export function createPolicy(initial: GatewayConfig, deps: PolicyDeps = {}): Policy {
  let config = initial;
  const clock = deps.clock ?? systemClock;
  const logger = deps.logger ?? defaultLogger(config);
  const registry = deps.registry ?? new Registry();
  const prefix = `bm:${config.gateway.namespace}/${config.gateway.name}`;
  const refusals = counter(registry, METRICS.refusals, 'Refused requests by policy', ['reason']);

  const ownsRedis = typeof deps.redis === 'string';
  const redis = typeof deps.redis === 'string' ? connectRedis(deps.redis) : deps.redis;

  const keysSource =
    deps.keysFile !== undefined
      ? new KeysFileSource(deps.keysFile, { logger, ...(deps.keysPollMs ? { pollMs: deps.keysPollMs } : {}) })
      : undefined;
  keysSource?.start();

  const upGauge = gauge(registry, REDIS_UP_METRIC, 'Whether the shared Redis answers (1) or not (0)', [
    'component',
  ]);
  const resilient = redis
    ? new ResilientLimitStore(redis, {
        failurePolicy: config.redis?.failurePolicy ?? 'local',
        logger,
        clock,
        upGauge,
      })
    : undefined;
  const limiter = new Limiter(resilient ?? new MemoryLimitStore(), {
    clock,
    prefix,
    ...(deps.defaultMaxOutputTokens ? { defaultMaxOutputTokens: deps.defaultMaxOutputTokens } : {}),
  });

  const memoryCache = new MemoryCacheStore({ clock, maxEntries: config.cache.maxEntries });
  const cacheStore =
    redis && (deps.cacheStore ?? 'redis') === 'redis'
      ? new RedisCacheStore(redis, { prefix, compress: deps.compressCache ?? true })
      : memoryCache;
  const cache = new ResponseCache({
    store: cacheStore,
    registry,
    logger,
    maxEntryBytes: config.cache.maxEntryBytes,
  });

  const costs = new CostMetrics(registry);
  const feedback = new FeedbackRecorder(
    deps.recentRequests ?? (() => undefined),
    redis ? new RedisFeedbackLedger(redis, prefix) : new MemoryFeedbackLedger(),
    registry,
  );

  const refuse = (refusal: PolicyRefusal): { ok: false; refusal: PolicyRefusal } => {
    if (refusal.reason !== 'unavailable') refusals.inc({ reason: refusal.reason });
    return { ok: false, refusal };
  };

  return {
    authenticate(headers) {
      const r = authenticate(headers, config.auth ? (keysSource?.keys ?? emptyKeys) : undefined);
      return r.ok ? r : refuse(r.refusal);
    },

    async admit(caller, route, request) {
      const forbidden = authorizeModel(caller, route.model);
      if (forbidden) return refuse(forbidden);
      const d = await limiter.admit(caller, route, request);
      if (!d.ok) return refuse(d.refusal);
      const limits = d.ticket;
      // Getters: the limiter computes the estimates lazily for routes without limits or budgets.
      const ticket: PolicyTicket = {
        caller,
        route,
        get promptTokens() {
          return limits.promptTokens;
        },
        get worstCaseUsd() {
          return limits.worstCaseUsd;
        },
        limits,
        ...(d.pinnedBackend !== undefined ? { pinnedBackend: d.pinnedBackend } : {}),
      };
      return { ok: true, ticket };
    },

    lookupCache: (caller, route, request) => cache.lookup(caller, route, request),
    storeCache: (lookup, entry) => cache.store(lookup, entry),
    recordStream: () => cache.recorder(),
    meterStream: (ticket) => new StreamUsageCounter(ticket),

    async settle(ticket, outcome) {
      const usage = outcomeUsage(outcome, ticket);
      const pricing =
        outcome.kind === 'none'
          ? { inputPerMillionTokens: 0, outputPerMillionTokens: 0 }
          : outcome.backend.pricing;
      const costUsd = await limiter.settle(ticket.limits, usage, pricing);
      if (outcome.kind !== 'none') {
        costs.record({
          namespace: ticket.route.namespace,
          route: ticket.route.name,
          backend: outcome.backend.name,
          variant: outcome.backend.variant,
          caller: ticket.caller,
          usage,
          costUsd,
        });
      }
      return { usage, costUsd };
    },

    recordFeedback: (body, caller) => feedback.record(body, caller),

    updateConfig(next) {
      config = next;
      resilient?.setFailurePolicy(next.redis?.failurePolicy ?? 'local');
      memoryCache.setMaxEntries(next.cache.maxEntries);
      cache.setMaxEntryBytes(next.cache.maxEntryBytes);
    },

    async ready() {
      if (redis) await redisReady(redis);
    },

    async close() {
      keysSource?.stop();
      resilient?.close();
      if (ownsRedis && redis) await redis.quit().catch(() => redis.disconnect());
    },
  };
}

/** The key set while auth is configured but no keys file is: every key is refused. */
const emptyKeys = new ApiKeySet([]);

/** Reads ticket.promptTokens (counted lazily on routes without limits) only when the body lacks usage. */
function outcomeUsage(outcome: SettleOutcome, ticket: PolicyTicket): Usage {
  switch (outcome.kind) {
    case 'none':
      return { promptTokens: 0, completionTokens: 0 };
    case 'body':
      return usageOfBody(outcome.body, ticket);
    case 'stream':
      return outcome.meter.usage();
    case 'usage':
      return outcome.usage;
    default: {
      const never: never = outcome;
      throw new Error(`unknown settle outcome ${JSON.stringify(never)}`);
    }
  }
}
