// The seam between the request pipeline and the policy modules of issue #6 (auth, limits, budgets,
// cache, accounting). The pipeline calls, in order:
//
//   authenticate → (read body, find route) → admit → lookupCache → select → proxy/stream → storeCache
//   → settle
//
// Every method may answer synchronously or with a promise. A refusal becomes the client's response as is
// (status, OpenAI error, Retry-After) and counts in beastmode_refusals_total{reason}. The default policy
// lets everything through and caches nothing.
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute, GatewayConfig } from '../../../api/v1alpha1/index.js';
import type { Endpoint, OpenAIErrorObject, Usage } from '../providers/types.js';

/** Who is calling, once authenticated. */
export interface Caller {
  /** The API key's name (never the key itself). */
  keyName: string;
  team?: string | undefined;
  /** Opaque to the pipeline: the policy's own record of the caller, handed back in RequestInfo. */
  data?: unknown;
}

export type RefusalReason = 'unauthenticated' | 'forbidden' | 'rate-limited' | 'budget-exhausted' | 'invalid';

export interface PolicyRefusal {
  refused: true;
  reason: RefusalReason;
  status: number;
  error: OpenAIErrorObject;
  retryAfterSeconds?: number | undefined;
}

export const isRefusal = (v: unknown): v is PolicyRefusal =>
  typeof v === 'object' && v !== null && (v as { refused?: unknown }).refused === true;

/** What the policy sees of a request once its body is parsed and its route found. */
export interface RequestInfo {
  requestId: string;
  config: GatewayConfig;
  route: CompiledRoute;
  endpoint: Endpoint;
  /** The client's body: read it, never log it. */
  body: Readonly<Record<string, unknown>>;
  stream: boolean;
  headers: IncomingHttpHeaders;
  caller: Caller | undefined;
}

export interface Admission {
  /** Restrict the attempt plan to this backend (e.g. a budget's cheaper fallback). */
  pinnedBackend?: string | undefined;
  /** Anything the policy wants back in settle (token reservations, limiter handles…). */
  state?: unknown;
}

export interface CachedResponse {
  status: number;
  contentType: string;
  /** The body to send; a Buffer when the cache keeps it encoded (written as is, not encoded per hit). */
  body: string | Buffer;
  backend: string;
  variant: 'stable' | 'canary';
}

/** Sees every SSE text written to the client of a streamed response (metering, recording for the cache). */
export interface StreamObserver {
  write(sse: string): void;
  /** `complete`: the upstream stream ended normally (not broken, not aborted by the client). */
  end(complete: boolean): void;
}

/** What a request cost, given to settle once the response is complete (or failed). */
export interface Settlement {
  status: number;
  backend: string | undefined;
  variant: 'stable' | 'canary' | undefined;
  usage: Usage | undefined;
  costUsd: number;
  cached: boolean;
  /** The JSON body sent to the client, for a complete non-streaming answer. */
  body?: string | undefined;
}

type MaybePromise<T> = T | Promise<T>;

export interface RequestPolicy {
  /** Metrics the policy counts itself, which the pipeline then leaves alone (no double counting). */
  ownsMetrics?: { refusals?: boolean; cacheLookups?: boolean; tokensAndCost?: boolean };
  /** From headers alone, before the body is read. `undefined` = anonymous (no auth configured). */
  authenticate(
    headers: IncomingHttpHeaders,
    config: GatewayConfig,
  ): MaybePromise<Caller | undefined | PolicyRefusal>;
  /** Rate limits, budgets, model permissions. */
  admit(info: RequestInfo): MaybePromise<Admission | PolicyRefusal>;
  /**
   * Called only when the route's cache mode is not "off": a hit, a miss (undefined), or "bypass" when this
   * request may not use the cache (e.g. temperature > 0 on a route that caches only deterministic requests).
   */
  lookupCache(info: RequestInfo): MaybePromise<CachedResponse | 'bypass' | undefined>;
  /** Called for complete non-streaming 2xx responses when the route's cache mode is not "off". */
  storeCache(info: RequestInfo, response: CachedResponse): void;
  /** Optional: called before a streamed request is proxied; its observer sees what the client receives. */
  observeStream?(info: RequestInfo, admission: Admission): StreamObserver | undefined;
  /** Always called once per admitted request, success or not (release reservations, account cost). */
  settle(info: RequestInfo, admission: Admission, settlement: Settlement): void;
  /** Optional: releases connections (Redis) when the gateway stops. */
  close?(): Promise<void>;
}

/** Lets everything through, caches nothing, accounts nothing. */
export const noopPolicy: RequestPolicy = {
  authenticate: () => undefined,
  admit: () => ({}),
  lookupCache: () => undefined,
  storeCache: () => {},
  settle: () => {},
};
