// The metrics contract between the gateway (which exports them) and the canary analysis, the autoscaler
// and dashboards (which read them). Names follow Prometheus conventions; labels are bounded sets.
export const METRICS = {
  /** Client-visible responses. Labels: namespace, route, backend, variant, code (2xx|4xx|5xx). */
  requests: 'beastmode_requests_total',
  /** Every upstream attempt. Labels: namespace, route, backend, variant, outcome (see ATTEMPT_OUTCOMES). */
  upstreamAttempts: 'beastmode_upstream_attempts_total',
  /** Duration of successful upstream attempts, seconds. Labels: namespace, route, backend, variant. */
  upstreamLatency: 'beastmode_upstream_latency_seconds',
  /** Time to first token (first streamed chunk, or the whole response when not streaming), seconds. */
  timeToFirstToken: 'beastmode_time_to_first_token_seconds',
  /** Tokens. Labels: namespace, route, backend, variant, direction (input|output). */
  tokens: 'beastmode_tokens_total',
  /** Cost in USD from the backend's pricing. Labels: namespace, route, backend, variant. */
  cost: 'beastmode_cost_usd_total',
  /** Cost in USD by caller. Labels: key, team. */
  costByCaller: 'beastmode_caller_cost_usd_total',
  /** User feedback scores 0–1 (histogram: _sum/_count give the mean). Labels: namespace, route, backend, variant. */
  feedbackScore: 'beastmode_feedback_score',
  /** Fallbacks from one backend to the next. Labels: namespace, route, from, to, cause. */
  fallbacks: 'beastmode_fallbacks_total',
  /** Retries on the same backend. Labels: namespace, route, backend, cause. */
  retries: 'beastmode_retries_total',
  /** Circuit breaker state per backend: 0 closed, 1 half-open, 2 open. Labels: namespace, route, backend, variant. */
  breakerState: 'beastmode_circuit_breaker_state',
  /** Requests in flight (gauge), the autoscaler's inflight-requests signal. */
  inflight: 'beastmode_inflight_requests',
  /** Upstream calls in flight per backend (gauge): a model server pool's load. Labels: namespace, route, backend, variant. */
  upstreamInflight: 'beastmode_upstream_inflight_requests',
  /** Requests sent to a backend's spillOver target instead of it. Labels: namespace, route, from, to, cause (saturated|throttled). */
  spillOvers: 'beastmode_spillover_requests_total',
  /** Requests in flight that spilled over from a backend: demand it could not take, part of its autoscaling signal. Labels: namespace, route, backend, variant. */
  spillOverInflight: 'beastmode_spillover_inflight_requests',
  /** Whether a backend spilled a request within the last 5 s (1) or not (0). Labels: namespace, route, backend, variant, to. */
  spillOverActive: 'beastmode_spillover_active',
  /** A bounded backend's in-flight bound per gateway process, fixed or learned from its 429/503s. Labels: namespace, route, backend, variant. */
  concurrencyLimit: 'beastmode_backend_concurrency_limit',
  /** Exact cache lookups. Labels: namespace, route, result (hit|miss). */
  cacheLookups: 'beastmode_cache_lookups_total',
  /** Semantic hits the false-hit guard refused. Labels: namespace, route, reason (numbers differ, …). */
  cacheSemanticRefusals: 'beastmode_cache_semantic_refusals_total',
  /** Entries in a semantic route's similarity index, per gateway process (gauge). Labels: namespace, route. */
  cacheSemanticEntries: 'beastmode_cache_semantic_entries',
  /** Calls to a semantic route's embeddings server. Labels: namespace, route, result (ok|timeout|error|skipped). */
  cacheSemanticEmbeddings: 'beastmode_cache_semantic_embeddings_total',
  /** Connections the egress policy refused. Labels: reason (loopback, private, link-local, …). */
  egressRefusals: 'beastmode_egress_refusals_total',
  /** Cache entries deleted because the config retired the backend revision that produced them. Labels: store (memory|redis). */
  cacheFencedEntries: 'beastmode_cache_fenced_entries_total',
  /** When a config last retired a producer of cached answers (a rollback, a promotion), Unix seconds. */
  cacheLastFence: 'beastmode_cache_last_fence_timestamp_seconds',
  /** How long deleting the last retired producers' entries took, seconds. */
  cacheLastFencePurge: 'beastmode_cache_last_fence_purge_seconds',
  /** Refused requests by policy. Labels: reason (unauthenticated|forbidden|rate-limited|budget-exhausted|invalid). */
  refusals: 'beastmode_refusals_total',
  /** Whether Redis answers (1) or the gateway enforces limits locally / refuses (0). Labels: component. */
  redisUp: 'beastmode_redis_up',
  /** Config loads. Labels: result (applied|refused|unchanged). */
  configLoads: 'beastmode_config_loads_total',
  /** The config revision being served (value 1). Labels: revision. */
  configInfo: 'beastmode_config_info',
  /**
   * Whether the gateway can read a backend's credential (1) or not (0): one series per backend of the
   * config that takes credentials. Labels: namespace, route, backend, variant, secret, key.
   */
  credentialsReady: 'beastmode_backend_credentials_ready',
  /**
   * Selection decisions of quality-cost and domain routes. Labels: namespace, route, backend, via
   * (heuristic|static|embeddings|learned|explore|domain — see ROUTER_DECISION_VIA).
   */
  routerDecisions: 'beastmode_router_decisions_total',
  /** Outcomes the learning router was told. Labels: namespace, route, arm (weak|strong), outcome (good|bad|failed). */
  routerOutcomes: 'beastmode_router_outcomes_total',
  /** The share of the learning router's learned traffic it plans to send weak (gauge). Labels: namespace, route. */
  routerLearnedWeakShare: 'beastmode_router_learned_weak_share',
  /** The router models a route decides with (value 1). Labels: namespace, route, kind (quality-cost|domains), version. */
  routerModelInfo: 'beastmode_router_model_info',
  /** Router models read from ConfigMaps. Labels: result (applied|refused: not a model, the last good one kept). */
  routerModelLoads: 'beastmode_router_model_loads_total',
  /**
   * Time the gateway spent deciding a quality-cost or domain route's backend from the prompt (classifier,
   * router model, learner's plan; an embedding call is timed apart). Labels: namespace, route.
   */
  routerDecisionSeconds: 'beastmode_router_decision_seconds',
  /**
   * Prompt embeddings asked of a route's embeddings server. Labels: namespace, route, result (ok|timeout|error:
   * the built-in model decided; skipped: the server failed repeatedly and is rested; unready: no router model
   * for the embeddings loaded yet).
   */
  routerEmbeddings: 'beastmode_router_embeddings_total',
  /** Time to get a prompt's embedding (answered or not). Labels: namespace, route. */
  routerEmbeddingSeconds: 'beastmode_router_embedding_seconds',
  /** Spans the trace collector accepted (docs/tracing.md). */
  traceSpansExported: 'beastmode_trace_spans_exported_total',
  /** Spans not exported. Labels: reason (queue-full|export-failed). */
  traceSpansDropped: 'beastmode_trace_spans_dropped_total',
  /**
   * Requests refused a caller (docs/security-monitoring.md). Labels: key (the revoked key's name; "unknown"
   * for every other failure), reason (see AUTH_FAILURE_REASONS in gateway/src/auth/authenticate.ts).
   */
  authFailures: 'beastmode_auth_failures_total',
  /** Requests for a model outside the key's scope (403). Labels: key, model (the route's model). */
  modelRefusals: 'beastmode_model_refusals_total',
  /** Requests a budget could not fit. Labels: namespace, route, key, action (refused|fallback). */
  budgetExhaustions: 'beastmode_budget_exhaustions_total',
  /** Requests of authenticated callers, admitted or not. Labels: key, team. */
  callerRequests: 'beastmode_caller_requests_total',
  /** How far a key's last complete minute lies above its own history (gauge). Labels: key, signal (requests|spend). */
  keyAnomalyScore: 'beastmode_key_anomaly_score',
  /** Minutes a key's anomaly score crossed its threshold after one that had not. Labels: key, signal. */
  keyAnomalies: 'beastmode_key_anomalies_total',
  /** Values a route's PII policy found in requests (docs/compliance.md). Labels: namespace, route, detector, action (redact|block). */
  piiDetections: 'beastmode_pii_detections_total',
  /** Requests a route's compliance policy refused. Labels: namespace, route, reason (pii-blocked|backend-not-allowed). */
  complianceRefusals: 'beastmode_compliance_refusals_total',
} as const;

/** How a quality-cost or domain route's backend was chosen (beastmode_router_decisions_total's via). */
export const ROUTER_DECISION_VIA = [
  'heuristic',
  'static',
  'embeddings',
  'learned',
  'explore',
  'domain',
] as const;
export type RouterDecisionVia = (typeof ROUTER_DECISION_VIA)[number];

export const ATTEMPT_OUTCOMES = [
  'ok',
  '4xx',
  '5xx',
  '429',
  'timeout',
  'connect-error',
  'stream-error',
  'aborted',
] as const;
export type AttemptOutcome = (typeof ATTEMPT_OUTCOMES)[number];

/** Latency buckets in seconds, fine enough for a p95 bound in the low hundreds of milliseconds. */
export const LATENCY_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 7.5, 10, 15,
  30, 60, 120,
];

export const FEEDBACK_BUCKETS = [0, 0.25, 0.5, 0.75, 1];

/** Response headers the gateway sets on every answer. */
export const HEADERS = {
  requestId: 'x-request-id',
  backend: 'x-beastmode-backend',
  variant: 'x-beastmode-variant',
  cache: 'x-beastmode-cache',
  configRevision: 'x-beastmode-config-revision',
  /** Why a quality-cost route chose its backend, e.g. "quality-cost: router v1 p(weak) 0.91 vs 0.86 -> llama". */
  routeReason: 'x-beastmode-route-reason',
  /** How many values a route's PII policy replaced with placeholders in the request the backend received. */
  redactions: 'x-beastmode-redactions',
  /** Request header naming the end user, for sticky assignment when the body has no "user". */
  user: 'x-user-id',
  /** The experiment and variant a request was assigned to, "<experiment>/<variant>" (routes with an Experiment). */
  experiment: 'x-beastmode-experiment',
} as const;
