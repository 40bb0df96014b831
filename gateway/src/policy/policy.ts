// The gateway's policy layer: the one object the request pipeline calls, once per stage —
//
//   authenticate → admit (model scopes, rate limits, budgets) → [select] → cache lookup → [upstream]
//   → store cache → settle (usage, cost, limit corrections)        and POST /v1/feedback
//
// A stage a route does not configure costs (almost) nothing: no key check without auth, no limiter call
// without limits or budgets, no cache without a cache mode, and no token counting unless settle lacks the
// usage the upstream reported. Settings say how the process wires it (keys file, Redis); POLICY_OFF is the
// setting that switches every stage but accounting off, whatever the config says.
import type { Redis } from 'ioredis';
import type { Dispatcher } from 'undici';
import type { Counter, Gauge } from 'prom-client';
import type { CompiledBackend, CompiledRoute, GatewayConfig } from '../../../api/v1alpha1/index.js';
import { CostMetrics, type CostCounters } from '../accounting/cost-metrics.js';
import { costUsd, estimatePromptTokens, loadTokenizer, type Pricing } from '../accounting/tokens.js';
import { usageOfBody, type PromptEstimate } from '../accounting/usage.js';
import { authenticate, authorizeModel, type AuthResult, type Headers } from '../auth/authenticate.js';
import { ApiKeySet } from '../auth/key-set.js';
import { KeysFileSource } from '../auth/keys-source.js';
import type { FenceMetrics, FenceReport } from '../cache/fence.js';
import { liveProducers } from '../cache/producer.js';
import type { CacheLookup, LookupCounter, ProducerRef } from '../cache/response-cache.js';
import type { IndexedEntry } from '../cache/semantic/semantic-index.js';
import { semanticRoutes } from '../cache/semantic/semantic-layer.js';
import type { FeedbackAnswer, FeedbackScores, ScoreListener } from '../feedback/feedback.js';
import type { RecentRequests } from '../feedback/recent-requests.js';
import { isLimited, type AdmitDecision, type LimitTicket } from '../limits/limiter.js';
import type { Logger } from '../log.js';
import type { PodState } from '../workers/pod-state.js';
import type { GatewayError } from '../server/errors.js';
import { SecurityMonitor } from '../security/monitor.js';
import type { SecurityMetrics } from '../security/security-metrics.js';
import { buildStores, type Stores } from './policy-stores.js';
import { connectRedis, redisReady } from './redis.js';
import { StreamTap } from './stream-tap.js';
import { NO_USAGE, systemClock, type Caller, type ChatRequest, type Clock, type Usage } from './types.js';

/** How the process wires the policy layer; what each route enforces comes from the GatewayConfig. */
export interface PolicySettings {
  /** false: auth, limits, budgets and cache are off whatever the config says; accounting stays on. */
  enforce?: boolean;
  /** Where keys.yaml is for a config that turns auth on; without one every key is refused. */
  keysFile?: (config: GatewayConfig) => string | undefined;
  /**
   * Auth is on whatever the config says (a keys file given on the command line): a config without `auth`
   * never turns a gateway started with keys into one that serves everyone anonymously.
   */
  requireAuth?: boolean;
  keysPollMs?: number;
  /** redis:// URL (or a ready client) shared by replicas; without it, state is per replica. */
  redis?: string | Redis;
  /** Where cached responses live when Redis is given. Default "redis" (shared by replicas). */
  cacheStore?: 'memory' | 'redis';
  /** Deflate cache values in Redis (measured: see docs/policy.md). Default true. */
  compressCache?: boolean;
  /** Output tokens assumed for budgets and token limits when a request sets no max_tokens. Default 4096. */
  defaultMaxOutputTokens?: number;
}

/** Serves without auth, limits, budgets and cache: what the benchmark that prices them runs. */
export const POLICY_OFF: PolicySettings = Object.freeze({ enforce: false });

/** The metrics the policy layer is the one place to count (the gateway's registry holds them). */
export interface PolicyMetrics extends CostCounters, FenceMetrics {
  refusals: Counter<'reason'>;
  cacheLookup: LookupCounter['cacheLookup'];
  cacheSemanticRefusals?: Counter<'namespace' | 'route' | 'reason'>;
  cacheSemanticEmbeddings?: Counter<'namespace' | 'route' | 'result'>;
  feedbackScore: FeedbackScores;
  redisUp: Gauge<'component'>;
  security?: SecurityMetrics;
}

export interface PolicyDeps {
  metrics: PolicyMetrics;
  logger: Logger;
  /** Who served each recent request, for feedback. */
  recent: RecentRequests;
  /** The pod's shared limit store and feedback ledger, when this process is one of several workers. */
  pod?: Pick<PodState, 'limits' | 'ledger'> | undefined;
  clock?: Clock;
  /** Connects to routes' embeddings servers where the egress policy allows. */
  dispatcher?: Dispatcher;
}

/** An admitted request: what it charged against limits and budgets, and where it must be served. */
export interface Admission {
  /** Serve from this backend only (a budget's cheaper fallback). */
  readonly pinnedBackend?: string | undefined;
  /** Corrected by settle; undefined when nothing was charged. */
  readonly charged?: LimitTicket | undefined;
}

/** The admission of every request on a route without limits or budgets: one shared object. */
const NOTHING_CHARGED: Admission = Object.freeze({});

/** What one request came to, given to settle exactly once. */
export interface Settlement {
  caller: Caller;
  route: CompiledRoute;
  request: ChatRequest;
  admission: Admission;
  /** The backend that answered or failed last; undefined for a cache hit or when none was tried. */
  backend: CompiledBackend | undefined;
  /** Usage the upstream reported. */
  usage: Usage | undefined;
  /** The complete JSON answer, when there was one. */
  body: string | undefined;
  /** What a streamed answer delivered. */
  tap: StreamTap | undefined;
}

const FREE: Pricing = { inputPerMillionTokens: 0, outputPerMillionTokens: 0 };
/** The key set while auth is configured but no keys file is: every key is refused. */
const NO_KEYS = new ApiKeySet([]);

export class GatewayPolicy {
  private readonly enforce: boolean;
  private readonly clock: Clock;
  private readonly redis: Redis | undefined;
  private readonly costs: CostMetrics;
  private readonly security: SecurityMonitor | undefined;
  private stores: Stores | undefined;
  private keys: KeysFileSource | undefined;
  private fencing: Promise<FenceReport | undefined> = Promise.resolve(undefined);
  private scoreListener: ScoreListener | undefined;

  constructor(
    private readonly settings: PolicySettings,
    private readonly deps: PolicyDeps,
  ) {
    this.enforce = settings.enforce !== false;
    this.clock = deps.clock ?? systemClock;
    this.redis = typeof settings.redis === 'string' ? connectRedis(settings.redis) : settings.redis;
    this.costs = new CostMetrics(deps.metrics);
    this.security = deps.metrics.security && new SecurityMonitor(deps.metrics.security, this.clock);
  }

  /**
   * Applies a config: the first builds the stores; later ones retune them and follow the keys file. The
   * cache serves the config's producers from now on, and purges those it retired in the background.
   */
  apply(config: GatewayConfig): void {
    if (this.enforce && config.routes.some(isLimited)) loadTokenizer();
    if (this.stores === undefined)
      this.stores = buildStores(config, {
        settings: this.settings,
        deps: this.deps,
        clock: this.clock,
        redis: this.redis,
        scoreListener: () => this.scoreListener,
      });
    else {
      this.stores.resilient?.setFailurePolicy(config.redis?.failurePolicy ?? 'local');
      this.stores.memoryCache.setMaxEntries(config.cache.maxEntries);
      this.stores.cache.setMaxEntryBytes(config.cache.maxEntryBytes);
    }
    const semantic = semanticRoutes(config);
    this.stores.cache.followSemantic(semantic);
    this.stores.shared?.followRoutes(semantic, () => this.ready());
    this.fencing = this.stores.fence.follow(liveProducers(config), config.revision);
    this.stores.feedback.followRetention(config);
    this.followKeysFile(config);
  }

  /** Entries in each semantic route's index in this process. */
  semanticEntries(): Map<string, number> {
    return this.stores?.cache.semanticEntries() ?? new Map<string, number>();
  }

  /** False while a new replica's semantic cache warms (it does not report ready until then). */
  isWarm(): boolean {
    return this.stores?.shared?.isWarm() ?? true;
  }

  /** Resolves with the last applied config's fence once its purge is done (undefined: it retired none). */
  fenced(): Promise<FenceReport | undefined> {
    return this.fencing;
  }

  /** Whether requests under this config must carry a key. */
  authOn(config: GatewayConfig): boolean {
    return this.enforce && (config.auth !== undefined || this.settings.requireAuth === true);
  }

  /** From headers alone, before the body is read: the caller, or a 401. */
  authenticate(headers: Headers, config: GatewayConfig): AuthResult {
    if (!this.authOn(config)) return authenticate(headers, undefined);
    const r = authenticate(headers, this.keys?.keys ?? NO_KEYS);
    if (!r.ok) {
      this.countRefusal(r.refusal);
      this.security?.authFailed(r.reason, r.revokedKey);
    }
    return r;
  }

  /** Model scopes, then rate limits and budgets: synchronous unless the route has limits or budgets. */
  admit(
    caller: Caller,
    route: CompiledRoute,
    request: ChatRequest,
  ): Admission | GatewayError | Promise<Admission | GatewayError> {
    this.security?.requested(caller);
    const forbidden = authorizeModel(caller, route.model);
    if (forbidden !== undefined) {
      this.security?.modelRefused(caller, route.model);
      return this.countRefusal(forbidden);
    }
    if (!this.enforce || !isLimited(route)) return NOTHING_CHARGED;
    const d = this.parts().limiter.admit(caller, route, request);
    return d instanceof Promise
      ? d.then((x) => this.admission(caller, route, x))
      : this.admission(caller, route, d);
  }

  /** Whether the cache stage runs for a route. */
  caches(route: CompiledRoute): boolean {
    return this.enforce && route.cache.mode !== 'off';
  }

  /**
   * A hit from one of `producers` (the backends whose answers this request may get, best first), a miss,
   * or a bypass (a request the route does not cache); counts the lookup. Synchronous on an exact route
   * with the in-memory store.
   */
  lookupCache<P extends ProducerRef>(
    caller: Caller,
    route: CompiledRoute,
    request: ChatRequest,
    producers: readonly P[],
  ): CacheLookup<P> | Promise<CacheLookup<P>> {
    return this.parts().cache.lookup(caller, route, request, producers);
  }

  /**
   * After a miss, stores the complete answer `producer` gave: the JSON body, else the stream `tap`
   * recorded. Whether it did (at once with the in-memory store), never a rejection.
   */
  storeCache(
    lookup: CacheLookup,
    producer: string,
    body: string | undefined,
    tap: StreamTap | undefined,
  ): boolean | Promise<boolean> {
    const entry = body !== undefined ? { kind: 'body' as const, body } : tap?.cacheEntry();
    if (entry === undefined) return false;
    return this.parts().cache.store(lookup, producer, entry);
  }

  /** Sees a streamed answer as the client receives it (for settle, and to fill a cache miss). */
  observeStream(request: ChatRequest, admission: Admission, lookup: CacheLookup | undefined): StreamTap {
    const recorder = lookup?.result === 'miss' ? this.parts().cache.recorder() : undefined;
    return new StreamTap(promptEstimate(request, admission), recorder);
  }

  /** Accounts tokens and cost, and corrects what admission charged; the cost in USD when metered. */
  settle(s: Settlement): number | undefined {
    const usage = this.usageOf(s);
    const pricing = usage === undefined ? FREE : (s.backend?.pricing ?? FREE);
    const spent = usage ?? NO_USAGE;
    const usd = usage !== undefined && s.backend !== undefined ? costUsd(usage, pricing) : undefined;
    if (usd !== undefined && s.backend !== undefined) {
      this.costs.record({
        namespace: s.route.namespace,
        route: s.route.name,
        backend: s.backend.name,
        variant: s.backend.variant,
        caller: s.caller,
        usage: spent,
        costUsd: usd,
      });
      this.security?.spent(s.caller, usd);
    }
    const ticket = s.admission.charged;
    if (ticket !== undefined) this.correct(ticket, spent, pricing);
    return usd;
  }

  /** A request was answered by a semantic hit on `entry`: feedback on it may forget the entry. */
  servedFromSemantic(requestId: string, entry: IndexedEntry): void {
    this.parts().cache.servedFromSemantic(requestId, entry);
  }

  /** Who is told of each accepted feedback score (the learning routers). */
  onFeedback(listener: ScoreListener): void {
    this.scoreListener = listener;
  }

  /** The Redis client the policy layer shares, when one is configured. */
  get sharedRedis(): Redis | undefined {
    return this.redis;
  }

  /** POST /v1/feedback: `body` is the parsed JSON body. */
  recordFeedback(body: unknown, caller: Caller): Promise<FeedbackAnswer> {
    return this.parts().feedback.record(body, caller);
  }

  /** Resolves once Redis is connected (or after 2 s without it); at once without Redis. */
  async ready(): Promise<void> {
    if (this.redis !== undefined) await redisReady(this.redis);
  }

  async close(): Promise<void> {
    this.keys?.stop();
    this.stores?.shared?.stop();
    this.stores?.resilient?.close();
    const redis = this.redis;
    if (typeof this.settings.redis === 'string' && redis !== undefined)
      await redis.quit().catch(() => redis.disconnect());
  }

  /**
   * Corrects what admission charged, in the background when the store is remote. A correction that fails
   * (a store gone meanwhile) leaves the reservation's worst case charged, and the answer stands.
   */
  private correct(ticket: LimitTicket, usage: Usage, pricing: Pricing): void {
    let settled;
    try {
      settled = this.parts().limiter.settle(ticket, usage, pricing);
    } catch {
      return;
    }
    if (settled instanceof Promise) settled.catch(() => undefined);
  }

  /** The limiter's decision as an admission, or the refusal, counted. */
  private admission(caller: Caller, route: CompiledRoute, d: AdmitDecision): Admission | GatewayError {
    if (!d.ok) {
      if (d.refusal.refusal === 'budget-exhausted')
        this.security?.budgetExhausted(caller, route.namespace, route.name, 'refused');
      return this.countRefusal(d.refusal);
    }
    if (d.pinnedBackend !== undefined)
      this.security?.budgetExhausted(caller, route.namespace, route.name, 'fallback');
    return d.pinnedBackend === undefined
      ? { charged: d.ticket }
      : { charged: d.ticket, pinnedBackend: d.pinnedBackend };
  }

  /** Reported usage, else counted from the answer; undefined when no upstream tokens were spent. */
  private usageOf(s: Settlement): Usage | undefined {
    if (s.backend === undefined) return undefined;
    if (s.usage !== undefined) return s.usage;
    if (s.body !== undefined)
      return usageOfBody(parsedOrUndefined(s.body), promptEstimate(s.request, s.admission));
    return s.tap?.meter.usage();
  }

  /** Counts a refusal in beastmode_refusals_total by its reason (the pipeline's own: invalid requests). */
  countRefusal(e: GatewayError): GatewayError {
    if (e.refusal !== undefined) this.deps.metrics.refusals.inc({ reason: e.refusal });
    return e;
  }

  private parts(): Stores {
    if (this.stores === undefined) throw new Error('the policy serves only once a config was applied');
    return this.stores;
  }

  private followKeysFile(config: GatewayConfig): void {
    const path = this.authOn(config) ? this.settings.keysFile?.(config) : undefined;
    if (path === this.keys?.path) return;
    this.keys?.stop();
    this.keys = undefined;
    if (path === undefined) return;
    const pollMs = this.settings.keysPollMs;
    this.keys = new KeysFileSource(path, { logger: this.deps.logger, ...(pollMs ? { pollMs } : {}) });
    this.keys.start();
  }
}

/** Admission's estimate when it made one, else one counted only if settle comes to need it. */
function promptEstimate(request: ChatRequest, admission: Admission): PromptEstimate {
  return admission.charged?.promptTokens ?? (() => estimatePromptTokens(request));
}

function parsedOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
