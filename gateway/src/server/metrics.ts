// The gateway's Prometheus metrics, named and labelled exactly as api/v1alpha1/metrics.ts says: canary
// analysis, the autoscaler and dashboards read them. One registry per gateway instance, so tests can run
// several gateways in one process. Every metric is defined here once and counted in one place: requests
// and in-flight by the pipeline; attempts, latency, retries and fallbacks by the attempt runner; time to
// first token and upstream calls in flight by the upstream attempt; breaker state and config loads by the
// gateway; refusals, cache lookups and fences, tokens, cost, feedback, Redis health and the security metrics by the
// policy layer.
import client from 'prom-client';
import {
  FEEDBACK_BUCKETS,
  LATENCY_BUCKETS,
  METRICS,
  type AttemptOutcome,
} from '../../../api/v1alpha1/index.js';
import type { CompiledRoute } from '../../../api/v1alpha1/gatewayconfig.js';
import type { CacheLookupResult } from '../cache/response-cache.js';
import type { MetricLabels, RuntimeBackend, RuntimeRoute } from '../config/load.js';
import type { BreakerState } from '../resilience/breaker.js';
import type { BoundState } from '../resilience/concurrency.js';
import { ExperimentMetrics } from '../experiments/experiment-metrics.js';
import { SecurityMetrics } from '../security/security-metrics.js';
import { ShadowMetrics } from '../shadow/metrics.js';
import { FoldedSeries, type FoldedCounter, type FoldedGauge } from './folded-series.js';

const BACKEND = ['namespace', 'route', 'backend', 'variant'] as const;

/** Whether one backend can read its credential (Secret `secret` of the route's namespace, key `key`). */
export interface CredentialState {
  labels: MetricLabels;
  secret: string;
  key: string;
  ready: boolean;
}

/** Who served a request, as metric labels. */
export type ServedBy = MetricLabels;

/** The labels of a backend of a route (precomputed with the config). */
export const servedBy = (_route: RuntimeRoute, b: RuntimeBackend): ServedBy => b.labels;

interface Observed {
  observe(v: number): void;
}

/** The labelled series of one label set, made on first use. */
interface Series {
  requests: Partial<Record<'2xx' | '4xx' | '5xx', FoldedCounter>>;
  attempts: Partial<Record<AttemptOutcome, FoldedCounter>>;
  latency?: Observed;
  ttft?: Observed;
  upstream?: FoldedGauge;
  spilled?: FoldedGauge;
}

export class GatewayMetrics {
  readonly registry = new client.Registry();
  private readonly registers = [this.registry];
  /**
   * The series the request path updates (requests, attempts, tokens, cost, calls in flight): folded into
   * their metrics when those are collected (folded-series.ts). Histograms still observe directly.
   */
  readonly folded = new FoldedSeries();
  readonly requests = new client.Counter({
    name: METRICS.requests,
    help: 'Client-visible responses',
    labelNames: [...BACKEND, 'code'],
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly upstreamAttempts = new client.Counter({
    name: METRICS.upstreamAttempts,
    help: 'Every upstream attempt by outcome',
    labelNames: [...BACKEND, 'outcome'],
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly upstreamLatency = new client.Histogram({
    name: METRICS.upstreamLatency,
    help: 'Duration of successful upstream attempts, seconds',
    labelNames: BACKEND,
    buckets: LATENCY_BUCKETS,
    registers: this.registers,
  });
  readonly timeToFirstToken = new client.Histogram({
    name: METRICS.timeToFirstToken,
    help: 'Time to the first streamed chunk, or the whole response when not streaming, seconds',
    labelNames: BACKEND,
    buckets: LATENCY_BUCKETS,
    registers: this.registers,
  });
  readonly tokens = new client.Counter({
    name: METRICS.tokens,
    help: 'Tokens by direction',
    labelNames: [...BACKEND, 'direction'],
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly cost = new client.Counter({
    name: METRICS.cost,
    help: "Cost in USD from the backend's pricing",
    labelNames: BACKEND,
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly costByCaller = new client.Counter({
    name: METRICS.costByCaller,
    help: 'Cost in USD by caller',
    labelNames: ['key', 'team'],
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly feedbackScore = new client.Histogram({
    name: METRICS.feedbackScore,
    help: 'User feedback scores 0-1',
    labelNames: BACKEND,
    buckets: FEEDBACK_BUCKETS,
    registers: this.registers,
  });
  readonly fallbacks = new client.Counter({
    name: METRICS.fallbacks,
    help: 'Fallbacks from one backend to the next',
    labelNames: ['namespace', 'route', 'from', 'to', 'cause'],
    registers: this.registers,
  });
  readonly retries = new client.Counter({
    name: METRICS.retries,
    help: 'Retries on the same backend',
    labelNames: ['namespace', 'route', 'backend', 'cause'],
    registers: this.registers,
  });
  readonly breakerState = new client.Gauge({
    name: METRICS.breakerState,
    help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open',
    labelNames: BACKEND,
    registers: this.registers,
    // A pod's workers each keep breakers: the pod reports the worst.
    aggregator: 'max',
  });
  readonly inflight = new client.Gauge({
    name: METRICS.inflight,
    help: 'Requests in flight',
    registers: this.registers,
    collect: this.folded.collect,
  });
  /** The pipeline's count of requests in flight, folded into `inflight`. */
  readonly requestsInFlight = this.folded.gauge(this.inflight, {});
  readonly upstreamInflight = new client.Gauge({
    name: METRICS.upstreamInflight,
    help: 'Upstream calls in flight per backend (a model server pool’s load)',
    labelNames: BACKEND,
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly spillOvers = new client.Counter({
    name: METRICS.spillOvers,
    help: "Requests sent to a backend's spillOver target instead of it",
    labelNames: ['namespace', 'route', 'from', 'to', 'cause'],
    registers: this.registers,
  });
  readonly spillOverInflight = new client.Gauge({
    name: METRICS.spillOverInflight,
    help: 'Requests in flight that spilled over from a backend: demand it could not take',
    labelNames: BACKEND,
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly spillOverActive = new client.Gauge({
    name: METRICS.spillOverActive,
    help: 'Whether a backend spilled a request within the last 5 s (1) or not (0)',
    labelNames: [...BACKEND, 'to'],
    registers: this.registers,
    aggregator: 'max',
    collect: () => this.readBounds(),
  });
  readonly concurrencyLimit = new client.Gauge({
    name: METRICS.concurrencyLimit,
    help: "A bounded backend's in-flight bound per gateway process, fixed or learned from its 429/503s",
    labelNames: BACKEND,
    registers: this.registers,
    aggregator: 'sum',
    collect: () => this.readBounds(),
  });
  readonly cacheLookups = new client.Counter({
    name: METRICS.cacheLookups,
    help: 'Cache lookups, by result (hit: exact, semantic-hit, miss, bypass)',
    labelNames: ['namespace', 'route', 'result'],
    registers: this.registers,
    collect: this.folded.collect,
  });
  readonly cacheSemanticEmbeddings = new client.Counter({
    name: METRICS.cacheSemanticEmbeddings,
    help: "Calls to a semantic route's embeddings server, by result (all but ok: the request was a plain miss)",
    labelNames: ['namespace', 'route', 'result'],
    registers: this.registers,
  });
  readonly cacheSemanticEntries = new client.Gauge({
    name: METRICS.cacheSemanticEntries,
    help: "Entries in a semantic route's similarity index in this process",
    labelNames: ['namespace', 'route'],
    registers: this.registers,
    collect: () => {
      this.cacheSemanticEntries.reset();
      for (const [route, n] of this.semanticSizes()) {
        const [namespace = '', name = ''] = route.split('/');
        this.cacheSemanticEntries.set({ namespace, route: name }, n);
      }
    },
  });
  readonly cacheSemanticRefusals = new client.Counter({
    name: METRICS.cacheSemanticRefusals,
    help: 'Semantic hits the false-hit guard refused, by reason',
    labelNames: ['namespace', 'route', 'reason'],
    registers: this.registers,
  });
  readonly egressRefusals = new client.Counter({
    name: METRICS.egressRefusals,
    help: 'Connections to a backend or embeddings server that the egress policy refused, by address range',
    labelNames: ['reason'],
    registers: this.registers,
  });
  readonly fencedEntries = new client.Counter({
    name: METRICS.cacheFencedEntries,
    help: 'Cache entries deleted because their producer left the config',
    labelNames: ['store'],
    registers: this.registers,
  });
  readonly lastFence = new client.Gauge({
    name: METRICS.cacheLastFence,
    help: 'When a config last retired a producer of cached answers, Unix seconds',
    registers: this.registers,
    aggregator: 'max',
  });
  readonly lastFencePurge = new client.Gauge({
    name: METRICS.cacheLastFencePurge,
    help: "How long deleting the last fence's entries took, seconds",
    registers: this.registers,
    aggregator: 'max',
  });
  readonly refusals = new client.Counter({
    name: METRICS.refusals,
    help: 'Refused requests by policy',
    labelNames: ['reason'],
    registers: this.registers,
  });
  readonly redisUp = new client.Gauge({
    name: METRICS.redisUp,
    help: 'Whether the shared Redis answers (1) or not (0)',
    labelNames: ['component'],
    registers: this.registers,
    aggregator: 'min',
  });
  readonly configLoads = new client.Counter({
    name: METRICS.configLoads,
    help: 'Config loads by result',
    labelNames: ['result'],
    registers: this.registers,
  });
  readonly configInfo = new client.Gauge({
    name: METRICS.configInfo,
    help: 'The config revision being served',
    labelNames: ['revision'],
    registers: this.registers,
    aggregator: 'max',
  });

  readonly credentialsReady = new client.Gauge({
    name: METRICS.credentialsReady,
    help: "Whether a backend's credential can be read (1) or not (0)",
    labelNames: [...BACKEND, 'secret', 'key'],
    registers: this.registers,
    // A pod's workers each read the files: the pod reports the worst.
    aggregator: 'min',
  });

  /** Auth failures, refused models, exhausted budgets and per-key anomalies (gateway/src/security/). */
  readonly security = new SecurityMetrics(this.registers);
  /** The experiment metrics contract, counted by the pipeline (experiments/request.ts). */
  readonly experiments = new ExperimentMetrics(this.registers);

  /** Mirrored calls to shadow backends (gateway/src/shadow/). */
  readonly shadow = new ShadowMetrics(this.registers, this);

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }

  // The hot path's series, found by the identity of the label object (one per backend and route of a
  // config; a reload makes new ones and the old entries go with them): folded counters and gauges, and
  // prom-client's labelled children for the histograms.
  private readonly series = new WeakMap<ServedBy, Series>();
  private readonly lookupSeries = new WeakMap<CompiledRoute, { [R in CacheLookupResult]?: FoldedCounter }>();

  private seriesOf(by: ServedBy): Series {
    let s = this.series.get(by);
    if (s === undefined) this.series.set(by, (s = { requests: {}, attempts: {} }));
    return s;
  }

  /** A cache lookup on `route` (one object per route of a config), by its result. */
  cacheLookup(route: CompiledRoute, result: CacheLookupResult): void {
    let s = this.lookupSeries.get(route);
    if (s === undefined) this.lookupSeries.set(route, (s = {}));
    const labels = { namespace: route.namespace, route: route.name, result };
    (s[result] ??= this.folded.counter(this.cacheLookups, labels)).inc();
  }

  request(by: ServedBy, status: number): void {
    const code = status >= 500 ? '5xx' : status >= 400 ? '4xx' : '2xx';
    const s = this.seriesOf(by);
    (s.requests[code] ??= this.folded.counter(this.requests, { ...by, code })).inc();
  }

  attempt(by: ServedBy, outcome: AttemptOutcome): void {
    const s = this.seriesOf(by);
    (s.attempts[outcome] ??= this.folded.counter(this.upstreamAttempts, { ...by, outcome })).inc();
  }

  /** A successful attempt's duration, seconds. */
  latency(by: ServedBy, seconds: number): void {
    const s = this.seriesOf(by);
    (s.latency ??= this.upstreamLatency.labels({ ...by })).observe(seconds);
  }

  /** Time to the first chunk (or the whole response), seconds. */
  ttft(by: ServedBy, seconds: number): void {
    const s = this.seriesOf(by);
    (s.ttft ??= this.timeToFirstToken.labels({ ...by })).observe(seconds);
  }

  /** An upstream call on a backend began (`+1`) or ended (`-1`), streaming included. */
  upstreamCall(by: ServedBy, delta: 1 | -1): void {
    const s = this.seriesOf(by);
    const level = (s.upstream ??= this.folded.gauge(this.upstreamInflight, by));
    if (delta === 1) level.inc();
    else level.dec();
  }

  /** A request spilled over from a backend (`+1`) or, spilled, ended (`-1`). */
  spilledCall(by: ServedBy, delta: 1 | -1): void {
    const s = this.seriesOf(by);
    const level = (s.spilled ??= this.folded.gauge(this.spillOverInflight, by));
    if (delta === 1) level.inc();
    else level.dec();
  }

  breaker(by: ServedBy, state: BreakerState): void {
    this.breakerState.set({ ...by }, state === 'closed' ? 0 : state === 'half-open' ? 1 : 2);
  }

  /** Every credential the config in force uses, readable or not; backends no longer configured drop out. */
  credentials(states: readonly CredentialState[]): void {
    this.credentialsReady.reset();
    for (const s of states)
      this.credentialsReady.set({ ...s.labels, secret: s.secret, key: s.key }, s.ready ? 1 : 0);
  }

  private boundStates: () => readonly BoundState[] = () => [];
  private semanticSizes: () => ReadonlyMap<string, number> = () => new Map();

  /** Where the semantic indexes' sizes (route → entries) are read at every scrape. */
  watchSemanticEntries(sizes: () => ReadonlyMap<string, number>): void {
    this.semanticSizes = sizes;
  }

  /** Where the bounds and spill states are read at every scrape. */
  watchBounds(states: () => readonly BoundState[]): void {
    this.boundStates = states;
  }

  /** Both gauges are refreshed before either is read (a scrape reads them one after the other). */
  private readBounds(): void {
    this.spillOverActive.reset();
    this.concurrencyLimit.reset();
    for (const s of this.boundStates()) {
      const { namespace, route, backend, variant } = s.labels;
      const labels = { namespace, route, backend, variant };
      if (Number.isFinite(s.limit)) this.concurrencyLimit.set(labels, s.limit);
      if (s.spillTo !== '') this.spillOverActive.set({ ...labels, to: s.spillTo }, s.spilling ? 1 : 0);
    }
  }

  configRevision(revision: string): void {
    this.configInfo.reset();
    this.configInfo.set({ revision }, 1);
  }
}
