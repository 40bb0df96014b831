// The metrics of mirrored calls (names from api/v1alpha1/shadow.ts): outcomes, drops and agreement here;
// latency, tokens, cost and calls in flight on the gateway's per-backend metrics with variant "shadow", so
// a shadow reads like any backend on the dashboards and the canary analysis reads it like a variant.
import client from 'prom-client';
import {
  SHADOW_METRICS,
  type AttemptOutcome,
  type ShadowCompareMode,
  type ShadowDropReason,
} from '../../../api/v1alpha1/index.js';
import type { Usage } from '../providers/types.js';
import type { MetricLabels } from '../config/load.js';

const BACKEND = ['namespace', 'route', 'backend', 'variant'] as const;

/** The gateway's per-backend metrics a mirrored call also counts on. */
export interface BackendSeries {
  upstreamLatency: client.Histogram<(typeof BACKEND)[number]>;
  tokens: client.Counter<(typeof BACKEND)[number] | 'direction'>;
  cost: client.Counter<(typeof BACKEND)[number]>;
  upstreamInflight: client.Gauge<(typeof BACKEND)[number]>;
}

export class ShadowMetrics {
  readonly requests;
  readonly dropped;
  readonly compared;
  readonly agreed;

  constructor(
    registers: client.Registry[],
    private readonly backend: BackendSeries,
  ) {
    this.requests = new client.Counter({
      name: SHADOW_METRICS.requests,
      help: 'Mirrored calls to shadow backends by outcome',
      labelNames: [...BACKEND, 'outcome'],
      registers,
    });
    this.dropped = new client.Counter({
      name: SHADOW_METRICS.dropped,
      help: 'Requests sampled for the shadow but not mirrored, by reason',
      labelNames: [...BACKEND, 'reason'],
      registers,
    });
    this.compared = new client.Counter({
      name: SHADOW_METRICS.compared,
      help: "Shadow answers compared with the client's answer",
      labelNames: [...BACKEND, 'mode'],
      registers,
    });
    this.agreed = new client.Counter({
      name: SHADOW_METRICS.agreed,
      help: "Shadow answers that agreed with the client's answer",
      labelNames: [...BACKEND, 'mode'],
      registers,
    });
  }

  outcome(by: MetricLabels, outcome: AttemptOutcome): void {
    this.requests.inc({ ...by, outcome });
  }

  drop(by: MetricLabels, reason: ShadowDropReason): void {
    this.dropped.inc({ ...by, reason });
  }

  /** A call began (`+1`) or ended (`-1`). */
  inflight(by: MetricLabels, delta: 1 | -1): void {
    this.backend.upstreamInflight.inc({ ...by }, delta);
  }

  /** A successful call: its duration in seconds, its tokens and their cost. */
  answered(by: MetricLabels, seconds: number, usage: Usage | undefined, costUsd: number): void {
    this.backend.upstreamLatency.observe({ ...by }, seconds);
    if (usage === undefined) return;
    this.backend.tokens.inc({ ...by, direction: 'input' }, usage.input);
    this.backend.tokens.inc({ ...by, direction: 'output' }, usage.output);
    if (costUsd > 0) this.backend.cost.inc({ ...by }, costUsd);
  }

  comparison(by: MetricLabels, mode: ShadowCompareMode, agreed: boolean): void {
    this.compared.inc({ ...by, mode });
    if (agreed) this.agreed.inc({ ...by, mode });
  }
}
