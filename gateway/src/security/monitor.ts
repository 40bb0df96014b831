// The security events of the policy layer, counted: refused credentials, refused models, exhausted budgets,
// and each authenticated key's requests and spend, which also feed its anomaly scores (anomaly.ts). The
// policy layer calls it where the events happen; it never sees a presented key or a request body.
import type { AuthFailureReason } from '../auth/authenticate.js';
import type { Caller, Clock } from '../policy/types.js';
import { AnomalyScores, type AnomalyOnset, type AnomalyOptions } from './anomaly.js';
import type { SecurityMetrics } from './security-metrics.js';

/** The `key` label of an auth failure that verified as no configured key. */
export const UNKNOWN_KEY = 'unknown';

interface Inc {
  inc(v?: number): void;
}

export class SecurityMonitor {
  private readonly scores: AnomalyScores;
  /** Request counters per key name, folded: prom-client would hash a label object per request. */
  private readonly requests = new Map<string, Inc>();

  constructor(
    private readonly metrics: SecurityMetrics,
    private readonly clock: Clock,
    options: AnomalyOptions = {},
  ) {
    this.scores = new AnomalyScores(options);
    metrics.watchAnomalies(() => {
      this.count(this.scores.roll(this.clock.now()));
      return this.scores.scores();
    });
  }

  authFailed(reason: AuthFailureReason, revokedKey: string | undefined): void {
    this.metrics.authFailures.inc({ key: revokedKey ?? UNKNOWN_KEY, reason });
  }

  modelRefused(caller: Caller, model: string): void {
    this.metrics.modelRefusals.inc({ key: caller.key, model });
  }

  budgetExhausted(caller: Caller, namespace: string, route: string, action: 'refused' | 'fallback'): void {
    this.metrics.budgetExhaustions.inc({ namespace, route, key: caller.key, action });
  }

  /** A request of `caller` (admitted or not). Anonymous callers have no history of their own to compare. */
  requested(caller: Caller): void {
    if (caller.anonymous) return;
    let c = this.requests.get(caller.key);
    if (c === undefined) {
      c = this.metrics.folded.counter(this.metrics.callerRequests, {
        key: caller.key,
        team: caller.team ?? '',
      });
      this.requests.set(caller.key, c);
    }
    c.inc();
    this.count(this.scores.add(caller.key, 'requests', 1, this.clock.now()));
  }

  /** What a request of `caller` cost, USD. */
  spent(caller: Caller, usd: number): void {
    if (caller.anonymous || !(usd > 0)) return;
    this.count(this.scores.add(caller.key, 'spend', usd, this.clock.now()));
  }

  private count(onsets: readonly AnomalyOnset[]): void {
    for (const o of onsets) this.metrics.anomalies.inc({ key: o.key, signal: o.signal });
  }
}
