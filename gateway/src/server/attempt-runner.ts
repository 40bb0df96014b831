// Runs a request's attempt plan: one upstream attempt after another as the retry/fallback decision
// (resilience/retry.ts `nextStep`) says, with the circuit breakers, the backoff sleeps, the statistics
// selection reads and the attempt, retry and fallback metrics.
import type { RuntimeBackend } from '../config/load.js';
import type { Logger } from '../log.js';
import type { AttemptKind } from '../tracing/request-span.js';
import type { Usage } from '../providers/types.js';
import type { CircuitBreakers } from '../resilience/breaker.js';
import type { ConcurrencyLimits } from '../resilience/concurrency.js';
import {
  hurtsBreaker,
  isThrottle,
  nextStep,
  spillIndex,
  type AttemptLoop,
  type FailedAttempt,
} from '../resilience/retry.js';
import type { Cancellation } from './cancel.js';
import { gatewayError, type GatewayError } from './errors.js';
import { servedBy, type GatewayMetrics } from './metrics.js';
import type { ObservedStatsStore } from './observed.js';
import type { AttemptResult, UpstreamCaller, UpstreamRequest } from './upstream-attempt.js';

export interface RunResult {
  status: number;
  /** The backend that answered, or the last one tried. */
  served: RuntimeBackend | undefined;
  usage?: Usage | undefined;
  /** The body of a complete non-streaming 2xx answer (for the cache and settle). */
  body?: string | undefined;
  /** The error to answer with, when no attempt succeeded and nothing was sent yet. */
  error?: GatewayError | undefined;
}

export interface RunnerDeps {
  upstream: UpstreamCaller;
  breakers: CircuitBreakers;
  limits: ConcurrencyLimits;
  metrics: GatewayMetrics;
  observed: ObservedStatsStore;
  now: () => number;
  log: Logger;
}

const NO_BACKEND: RunResult = {
  status: 503,
  served: undefined,
  error: gatewayError(503, 'no backend available', 'no_backend'),
};

function sleep(ms: number, signal: Cancellation): Promise<void> {
  return new Promise((resolve) => {
    if (signal.cancelled) return resolve();
    const done = () => {
      clearTimeout(t);
      signal.off('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal.once('abort', done);
  });
}

export class AttemptRunner {
  constructor(private readonly deps: RunnerDeps) {}

  /**
   * Answers the client unless the result carries an error for the caller to send. `spilledFrom`: the
   * request spilled over from that saturated backend to the plan's first; the spill is counted here, and
   * while the request runs it counts as that backend's demand (beastmode_spillover_inflight_requests), as
   * does a request that spills over after a 429/503.
   */
  async run(
    x: UpstreamRequest,
    plan: readonly RuntimeBackend[],
    spilledFrom?: RuntimeBackend,
  ): Promise<RunResult> {
    const spill = this.spilled(x, plan, spilledFrom);
    // The attempts run here, not in a function of their own: one async step less on every request.
    try {
      if (plan.length === 0 || x.route.spec.fallback.maxAttempts < 1) return NO_BACKEND;
      const loop: AttemptLoop = { planLength: plan.length, index: 0, attempts: 0, retries: 0 };
      let kind: AttemptKind = 'first';
      for (;;) {
        const b = plan[loop.index] as RuntimeBackend;
        if (x.client.cancelled) return { status: 499, served: b };
        loop.attempts++;
        const started = this.deps.now();
        this.deps.breakers.begin(b.key, started);
        this.deps.limits.begin(b.key, b.spec, b.labels);
        const r = await this.attempt(x, b, started, kind);
        this.deps.limits.end(b.key, b.spec, r.ok ? 'ok' : isThrottle(r.failure) ? 'throttled' : 'other');
        if (r.ok) return this.succeeded(x, b, started, r);
        this.failed(x, b, r);
        const spillTo = spillIndex(
          plan.map((p) => p.spec),
          loop.index,
          r,
        );
        if (spillTo !== undefined) {
          kind = this.spillOver(x, b, plan[spillTo] as RuntimeBackend, spill);
          loop.index = spillTo;
          loop.retries = 0;
          continue;
        }
        const step = nextStep(x.route.spec, loop, r);
        switch (step.action) {
          case 'retry':
            this.countRetry(x, b, r);
            await sleep(step.delayMs, x.client);
            loop.retries++;
            kind = 'retry';
            break;
          case 'fallover':
            this.countFallover(x, b, plan[step.next] as RuntimeBackend, r);
            loop.index = step.next;
            loop.retries = 0;
            kind = 'fallback';
            break;
          case 'fail':
            return { status: step.error.status, served: b, error: step.error };
          case 'stop':
            return { status: step.status, served: b };
          default: {
            const never: never = step;
            throw new Error(`unknown step ${JSON.stringify(never)}`);
          }
        }
      }
    } finally {
      if (spill.from !== undefined) this.deps.metrics.spilledCall(spill.from.labels, -1);
    }
  }

  /** A request spilled over from a saturated backend counts as its demand from the start. */
  private spilled(
    x: UpstreamRequest,
    plan: readonly RuntimeBackend[],
    from: RuntimeBackend | undefined,
  ): { from?: RuntimeBackend | undefined } {
    if (from !== undefined && plan[0] !== undefined) {
      this.countSpill(x, from, plan[0], 'saturated');
      this.deps.metrics.spilledCall(from.labels, 1);
    }
    return { from };
  }

  /** `b` throttled the request, which goes on to `to`; it counts as the first such backend's demand. */
  private spillOver(
    x: UpstreamRequest,
    b: RuntimeBackend,
    to: RuntimeBackend,
    spill: { from?: RuntimeBackend | undefined },
  ): AttemptKind {
    this.countSpill(x, b, to, 'throttled');
    if (spill.from === undefined) {
      spill.from = b;
      this.deps.metrics.spilledCall(b.labels, 1);
    }
    return 'spill-over';
  }

  /** One upstream call; a traced request's in its own span (untraced, no async step of its own). */
  private attempt(
    x: UpstreamRequest,
    b: RuntimeBackend,
    started: number,
    kind: AttemptKind,
  ): Promise<AttemptResult> {
    return x.trace === undefined
      ? this.deps.upstream.attempt(x, b, started)
      : this.tracedAttempt(x, b, started, kind);
  }

  /** One upstream call of a traced request, in its own span. */
  private async tracedAttempt(x: UpstreamRequest, b: RuntimeBackend, started: number, kind: AttemptKind) {
    const span = x.trace?.attempt(b, kind);
    const r = await this.deps.upstream.attempt(x, b, started);
    span?.end(r);
    return r;
  }

  private succeeded(
    x: UpstreamRequest,
    b: RuntimeBackend,
    started: number,
    r: AttemptResult & { ok: true },
  ): RunResult {
    const { metrics, observed } = this.deps;
    const by = servedBy(x.route, b);
    const ms = this.deps.now() - started;
    metrics.attempt(by, 'ok');
    this.deps.breakers.success(b.key);
    observed.observeLatency(x.route.spec, b.spec.name, ms);
    metrics.latency(by, ms / 1000);
    if (r.usage !== undefined) observed.observeTokens(x.route.spec, r.usage.input, r.usage.output);
    return { status: r.status, served: b, usage: r.usage, body: r.body };
  }

  private failed(x: UpstreamRequest, b: RuntimeBackend, r: FailedAttempt): void {
    const f = r.failure;
    this.deps.metrics.attempt(servedBy(x.route, b), f.outcome);
    if (hurtsBreaker(f)) this.deps.breakers.failure(b.key, this.deps.now());
    else this.deps.breakers.neutral(b.key);
    if (this.deps.log.isDebug()) {
      this.deps.log.log('debug', 'Upstream attempt failed', {
        requestId: x.requestId,
        backend: b.spec.name,
        variant: b.spec.variant,
        outcome: f.outcome,
        status: f.status,
        reason: f.message,
      });
    }
  }

  /** A request went to `to` because `from` was saturated (before asking it) or throttled (it said 429/503). */
  private countSpill(
    x: UpstreamRequest,
    from: RuntimeBackend,
    to: RuntimeBackend,
    cause: 'saturated' | 'throttled',
  ): void {
    const { namespace, name: route } = x.route.spec;
    this.deps.limits.spilled(from.key, from.spec, from.labels, to.spec.name);
    this.deps.metrics.spillOvers.inc({ namespace, route, from: from.spec.name, to: to.spec.name, cause });
  }

  private countRetry(x: UpstreamRequest, b: RuntimeBackend, r: FailedAttempt): void {
    const { namespace, name: route } = x.route.spec;
    this.deps.metrics.retries.inc({ namespace, route, backend: b.spec.name, cause: r.failure.outcome });
  }

  private countFallover(
    x: UpstreamRequest,
    from: RuntimeBackend,
    to: RuntimeBackend,
    r: FailedAttempt,
  ): void {
    const { namespace, name: route } = x.route.spec;
    this.deps.metrics.fallbacks.inc({
      namespace,
      route,
      from: from.spec.name,
      to: to.spec.name,
      cause: r.failure.outcome,
    });
  }
}
