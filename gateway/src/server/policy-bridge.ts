// Plugs the policy modules of issue #6 (gateway/src/policy: auth, limits, budgets, cache, accounting,
// feedback) into the request pipeline's RequestPolicy seam. The policy is created with the first config a
// request carries and updated when a request carries a newer one, so it always agrees with the snapshot
// the request is served from.
import type { Express } from 'express';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import type {
  CacheLookup,
  Caller as PolicyCaller,
  Policy,
  PolicyRefusal as Refusal,
  PolicyTicket,
} from '../policy/index.js';
import type { StreamUsageCounter } from '../accounting/usage.js';
import type { StreamRecorder } from '../cache/response-cache.js';
import type { Registry } from 'prom-client';
import type { GatewayState } from './gateway.js';
import type {
  Admission,
  CachedResponse,
  Caller,
  PolicyRefusal,
  RequestInfo,
  RequestPolicy,
  Settlement,
  StreamObserver,
} from './policy.js';

export interface PolicyFactoryDeps {
  registry: Registry;
  recentRequests: (
    requestId: string,
  ) => { namespace: string; route: string; backend: string; variant: string; callerKey: string } | undefined;
}

export type PolicyFactory = (config: GatewayConfig, deps: PolicyFactoryDeps) => Policy;

const ANONYMOUS: PolicyCaller = { key: 'anonymous', anonymous: true };

function refusal(r: Refusal): PolicyRefusal {
  const ra = r.headers['retry-after'] ?? r.headers['Retry-After'];
  return {
    refused: true,
    // "unavailable" (Redis down under a closed failure policy) is not a policy verdict on the caller.
    reason: r.reason === 'unavailable' ? 'rate-limited' : r.reason,
    status: r.status,
    error: r.body.error,
    retryAfterSeconds: ra === undefined ? undefined : Number(ra),
  };
}

interface PerRequest {
  lookup?: CacheLookup;
  meter?: StreamUsageCounter;
}

/** A feedback body holds an id, a score and a comment of at most 2,000 characters. */
const MAX_FEEDBACK_BYTES = 16_384;

export class PolicyBridge implements RequestPolicy {
  readonly ownsMetrics = { refusals: true, cacheLookups: true, tokensAndCost: true };
  private policy: Policy | undefined;
  private config: GatewayConfig | undefined;
  private state: GatewayState | undefined;
  private readonly perRequest = new WeakMap<RequestInfo, PerRequest>();

  constructor(private readonly make: PolicyFactory) {}

  async close(): Promise<void> {
    await this.policy?.close();
  }

  /** Adds POST /v1/feedback and gives the policy the gateway's registry and recent requests. */
  readonly configureApp = (app: Express, state: GatewayState): void => {
    this.state = state;
    app.post('/v1/feedback', (req, res) => {
      const config = state.store.current()?.config;
      if (config === undefined) {
        res.status(503).json({
          error: { message: 'no config yet', type: 'server_error', param: null, code: 'not_ready' },
        });
        return;
      }
      const policy = this.policyFor(config);
      const auth = policy.authenticate(req.headers);
      if (!auth.ok) {
        res.status(auth.refusal.status).set(auth.refusal.headers).json(auth.refusal.body);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= MAX_FEEDBACK_BYTES) chunks.push(c);
      });
      req.on('end', () => {
        if (size > MAX_FEEDBACK_BYTES) {
          res.status(413).json({
            error: {
              message: `feedback bodies are limited to ${MAX_FEEDBACK_BYTES} bytes`,
              type: 'invalid_request_error',
              param: null,
              code: 'request_too_large',
            },
          });
          return;
        }
        let body: unknown;
        try {
          body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          res.status(400).json({
            error: {
              message: 'body is not JSON',
              type: 'invalid_request_error',
              param: null,
              code: 'invalid_json',
            },
          });
          return;
        }
        policy.recordFeedback(body, auth.caller).then(
          (r) => res.status(r.status).json(r.body),
          () =>
            res
              .status(500)
              .json({ error: { message: 'feedback failed', type: 'server_error', param: null, code: null } }),
        );
      });
    });
  };

  private policyFor(config: GatewayConfig): Policy {
    if (this.policy === undefined) {
      const state = this.state;
      if (state === undefined) throw new Error('PolicyBridge: pass bridge.configureApp to startGateway');
      this.policy = this.make(config, {
        registry: state.metrics.registry,
        recentRequests: (id) => {
          const r = state.recent.get(id);
          return (
            r && {
              namespace: r.namespace,
              route: r.route,
              backend: r.backend,
              variant: r.variant,
              callerKey: r.caller ?? 'anonymous',
            }
          );
        },
      });
    } else if (config !== this.config) {
      this.policy.updateConfig(config);
    }
    this.config = config;
    return this.policy;
  }

  private static caller(info: RequestInfo): PolicyCaller {
    return (info.caller?.data as PolicyCaller | undefined) ?? ANONYMOUS;
  }

  authenticate(headers: RequestInfo['headers'], config: GatewayConfig): Caller | undefined | PolicyRefusal {
    const r = this.policyFor(config).authenticate(headers);
    if (!r.ok) return refusal(r.refusal);
    // Anonymous callers have no key: leave stickiness to the user id (or chance), not one shared bucket.
    if (r.caller.anonymous) return undefined;
    return { keyName: r.caller.key, team: r.caller.team, data: r.caller };
  }

  async admit(info: RequestInfo): Promise<Admission | PolicyRefusal> {
    const r = await this.policyFor(info.config).admit(PolicyBridge.caller(info), info.route, {
      ...info.body,
    });
    if (!r.ok) return refusal(r.refusal);
    return { pinnedBackend: r.ticket.pinnedBackend, state: r.ticket };
  }

  async lookupCache(info: RequestInfo): Promise<CachedResponse | 'bypass' | undefined> {
    const lookup = await this.policyFor(info.config).lookupCache(PolicyBridge.caller(info), info.route, {
      ...info.body,
    });
    this.perRequest.set(info, { lookup });
    if (lookup.result === 'bypass') return 'bypass';
    if (lookup.result !== 'hit') return undefined;
    const r = lookup.response;
    return {
      status: 200,
      contentType: r.stream ? 'text/event-stream; charset=utf-8' : 'application/json',
      body: r.bytes ?? (r.stream ? r.events.join('') : r.body),
      backend: 'cache',
      variant: 'stable',
    };
  }

  storeCache(info: RequestInfo, response: CachedResponse): void {
    const lookup = this.perRequest.get(info)?.lookup;
    if (lookup?.result !== 'miss') return;
    void this.policyFor(info.config)
      .storeCache(lookup, {
        kind: 'body',
        body: typeof response.body === 'string' ? response.body : response.body.toString('utf8'),
      })
      .catch(() => false);
  }

  observeStream(info: RequestInfo, admission: Admission): StreamObserver | undefined {
    const policy = this.policyFor(info.config);
    const ticket = admission.state as PolicyTicket;
    const meter = policy.meterStream(ticket);
    const per = this.perRequest.get(info) ?? {};
    per.meter = meter;
    this.perRequest.set(info, per);
    const lookup = per.lookup;
    const recorder: StreamRecorder | undefined =
      lookup?.result === 'miss' ? policy.recordStream() : undefined;
    return {
      write: (sse) => {
        meter.push(sse);
        recorder?.push(sse);
      },
      end: (complete) => {
        const entry = complete ? recorder?.entry() : undefined;
        if (entry !== undefined && lookup?.result === 'miss')
          void policy.storeCache(lookup, entry).catch(() => false);
      },
    };
  }

  settle(info: RequestInfo, admission: Admission, s: Settlement): void {
    const ticket = admission.state as PolicyTicket | undefined;
    if (ticket === undefined) return;
    const backend = info.route.backends.find((b) => b.name === s.backend && b.variant === s.variant);
    const meter = this.perRequest.get(info)?.meter;
    const policy = this.policyFor(info.config);
    let outcome: Parameters<Policy['settle']>[1] = { kind: 'none' };
    if (!s.cached && backend !== undefined) {
      // Upstream usage when known (the gateway reads it even where the client did not ask for it), else the
      // body, else what the meter counted of the stream the client received (e.g. an aborted stream).
      if (s.usage !== undefined) {
        outcome = {
          kind: 'usage',
          backend,
          usage: { promptTokens: s.usage.input, completionTokens: s.usage.output },
        };
      } else if (s.body !== undefined)
        outcome = { kind: 'body', backend, body: JSON.parse(s.body) as unknown };
      else if (info.stream && meter !== undefined) outcome = { kind: 'stream', backend, meter };
    }
    void policy.settle(ticket, outcome).catch(() => undefined);
  }
}
