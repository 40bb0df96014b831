// What the external metrics API answers for each AutoscalingPolicy: its signal (of its gateway, or of the
// backend its model server Deployment serves), the forecast of its request rate, and — when the scrapes of
// its gateway keep failing — the fallback value that holds the declared replica count (as KEDA's fallback:
// an AverageValue metric reporting replicas × target makes the HPA compute exactly those replicas). The HPA
// selects a policy's values with the label selector policy=<name>.
import {
  DEFAULT_SMOOTHING,
  accuracy,
  forecast,
  initialForecast,
  observe,
  type ForecastSettings,
  type ForecastState,
} from './forecast.js';
import {
  matches,
  type ExternalMetricSource,
  type ExternalValue,
  type LabelRequirement,
} from './metrics-api.js';
import type { GatewayKey, GatewaySignals, Signals } from './signals.js';

/** The external metric of each LLM signal a policy may scale on. */
export const EXTERNAL_METRICS = {
  'inflight-requests': 'beastmode_inflight_requests',
  'requests-per-second': 'beastmode_requests_per_second',
  'ttft-p95': 'beastmode_ttft_p95_seconds',
  'throttled-ratio': 'beastmode_throttled_ratio',
  forecast: 'beastmode_forecast_requests_per_second',
} as const;
export type SignalType = Exclude<keyof typeof EXTERNAL_METRICS, 'forecast'>;

/** Signals whose HPA target is per replica (AverageValue): the ones a fallback can hold. */
const AVERAGE_VALUE: ReadonlySet<string> = new Set(['inflight-requests', 'requests-per-second', 'forecast']);

/** One policy as the metrics see it. */
export interface PolicyView {
  namespace: string;
  name: string;
  gateway: GatewayKey;
  /** A model server pool: the gateway's view of this backend; absent: the whole gateway. */
  backend?: { route: string; backend: string } | undefined;
  /** Target per signal (per replica for AverageValue signals), as the HPA is given it. */
  targets: Partial<Record<SignalType, number>>;
  predictive?: { horizonMs: number; seasonMs: number } | undefined;
  fallback?: { failureThreshold: number; replicas: number } | undefined;
}

export interface PolicyMetricsDeps {
  signals: GatewaySignals;
  /** Rounds in a row in which a gateway could not be scraped. */
  failures: (g: GatewayKey) => number;
  now: () => number;
}

export class PolicyMetrics implements ExternalMetricSource {
  private policies = new Map<string, PolicyView>();
  private readonly forecasts = new Map<
    string,
    { settings: ForecastSettings; state: ForecastState; value: number }
  >();

  constructor(private readonly deps: PolicyMetricsDeps) {}

  private static key(ns: string, name: string): string {
    return `${ns}/${name}`;
  }

  setPolicies(views: PolicyView[]): void {
    this.policies = new Map(views.map((v) => [PolicyMetrics.key(v.namespace, v.name), v]));
    for (const k of this.forecasts.keys()) if (!this.policies.get(k)?.predictive) this.forecasts.delete(k);
  }

  /** The signals of a policy's target now, or undefined when its gateway is not being read. */
  signalsOf(p: PolicyView): Signals | undefined {
    const now = this.deps.now();
    if (p.backend === undefined) return this.deps.signals.gateway(p.gateway, now);
    const b = this.deps.signals
      .backends(p.gateway, now)
      .find((x) => x.route === p.backend?.route && x.backend === p.backend.backend);
    if (b !== undefined) return b;
    // A gateway read, but no traffic to the backend yet: an idle backend.
    return this.deps.signals.gateway(p.gateway, now) === undefined
      ? undefined
      : { inflight: 0, requestsPerSecond: 0, ttftP95Seconds: undefined };
  }

  /** Whether the fallback holds the policy's replicas (its gateway could not be read often enough). */
  inFallback(p: PolicyView): boolean {
    return p.fallback !== undefined && this.deps.failures(p.gateway) >= p.fallback.failureThreshold;
  }

  /** Feeds each predictive policy's forecaster with its current request rate (after each scrape round). */
  observeRates(): void {
    const now = this.deps.now();
    for (const [k, p] of this.policies) {
      if (p.predictive === undefined) continue;
      const rate = this.signalsOf(p)?.requestsPerSecond;
      let f = this.forecasts.get(k);
      if (f === undefined) {
        const settings: ForecastSettings = {
          stepMs: 60_000,
          seasonMs: p.predictive.seasonMs,
          ...DEFAULT_SMOOTHING,
        };
        this.forecasts.set(k, (f = { settings, state: initialForecast(now, settings), value: 0 }));
      }
      if (rate !== undefined) f.state = observe(f.state, f.settings, now, rate);
      const next = forecast(f.state, f.settings, p.predictive.horizonMs);
      f.state = next.state;
      f.value = next.value;
    }
  }

  /** The forecast request rate at the policy's horizon and its recent accuracy (1 − MAPE). */
  forecastOf(p: PolicyView): { requestsPerSecond: number; accuracy: number | undefined } | undefined {
    const f = this.forecasts.get(PolicyMetrics.key(p.namespace, p.name));
    return f === undefined ? undefined : { requestsPerSecond: f.value, accuracy: accuracy(f.state) };
  }

  /**
   * The forecast for the policy's status: undefined until the forecaster has completed its first step (a
   * minute of rates), when its value (0, served to the HPA so that it can compute) forecasts nothing yet.
   */
  forecastStatus(p: PolicyView): { requestsPerSecond: number; accuracy: number | undefined } | undefined {
    const f = this.forecasts.get(PolicyMetrics.key(p.namespace, p.name));
    return f === undefined || f.state.level === undefined ? undefined : this.forecastOf(p);
  }

  names(): string[] {
    return Object.values(EXTERNAL_METRICS);
  }

  values(namespace: string, metric: string, selector: LabelRequirement[]): ExternalValue[] | undefined {
    const type = (Object.keys(EXTERNAL_METRICS) as (keyof typeof EXTERNAL_METRICS)[]).find(
      (t) => EXTERNAL_METRICS[t] === metric,
    );
    if (type === undefined) return undefined;
    const out: ExternalValue[] = [];
    for (const p of this.policies.values()) {
      const labels = { policy: p.name };
      if (p.namespace !== namespace || !matches(labels, selector)) continue;
      const value = this.valueOf(p, type);
      if (value !== undefined) out.push({ labels, value, timestamp: new Date(this.deps.now()) });
    }
    return out;
  }

  private valueOf(p: PolicyView, type: keyof typeof EXTERNAL_METRICS): number | undefined {
    if (this.inFallback(p)) {
      // Hold the declared replicas: per replica target × replicas, for the per-replica signals only.
      const target = type === 'forecast' ? p.targets['requests-per-second'] : p.targets[type];
      return AVERAGE_VALUE.has(type) && target !== undefined && p.fallback
        ? p.fallback.replicas * target
        : undefined;
    }
    if (type === 'forecast') return this.forecastOf(p)?.requestsPerSecond;
    return this.measured(p, type);
  }

  /** A signal of the policy's target as measured (no fallback); undefined while its gateway is not read. */
  measured(p: PolicyView, type: SignalType): number | undefined {
    const s = this.signalsOf(p);
    if (s === undefined) return undefined;
    switch (type) {
      case 'inflight-requests':
        return s.inflight;
      case 'requests-per-second':
        return s.requestsPerSecond;
      case 'ttft-p95':
        return s.ttftP95Seconds ?? 0;
      case 'throttled-ratio':
        return 'throttledRatio' in s ? (s as { throttledRatio: number }).throttledRatio : 0;
      default: {
        const never: never = type;
        throw new Error(`unknown signal ${String(never)}`);
      }
    }
  }
}
