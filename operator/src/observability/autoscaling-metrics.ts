// The state of each AutoscalingPolicy as Prometheus series: the replicas its HPA has and wants against the
// policy's bounds, the LLM signals the operator measures for it against their targets, the forecast of its
// request rate, and whether the fallback holds its replicas. The autoscaling controller reports on each
// reconcile and forgets a deleted policy. Label values come from declared objects and fixed lists only.
import { Gauge, type Registry } from 'prom-client';
import { EXTERNAL_METRICS, type SignalType } from '../autoscaling/policy-metrics.js';

const SIGNALS = Object.keys(EXTERNAL_METRICS).filter((s) => s !== 'forecast') as SignalType[];
const REPLICA_KINDS = ['current', 'desired', 'min', 'max'] as const;
type ReplicaKind = (typeof REPLICA_KINDS)[number];
/** The forecaster predicts the request rate only. */
const FORECAST_SIGNAL = 'requests-per-second';

/** One policy as the controller saw it in one reconcile. */
export interface AutoscalingReport {
  namespace: string;
  policy: string;
  /** The scaled object, `<Kind>/<name>`. */
  target: string;
  /** Current and desired as the HPA's status says (absent until it has one); min and max from the spec. */
  replicas: Partial<Record<ReplicaKind, number>>;
  /** Each signal the policy scales on as last measured; absent while its gateway is not read. */
  signals: Partial<Record<SignalType, number>>;
  /** The target of each signal the policy scales on (per replica where the HPA averages). */
  targets: Partial<Record<SignalType, number>>;
  /** The forecast request rate at the policy's horizon, once the forecaster has a first step. */
  forecast?: { value: number; accuracy: number | undefined } | undefined;
  /** Whether the fallback holds the replicas; undefined when the policy declares no fallback. */
  fallback?: boolean | undefined;
}

type Labels = { namespace: string; policy: string };

export class AutoscalingMetrics {
  readonly replicas: Gauge<'namespace' | 'policy' | 'target' | 'kind'>;
  readonly signal: Gauge<'namespace' | 'policy' | 'signal'>;
  readonly signalTarget: Gauge<'namespace' | 'policy' | 'signal'>;
  readonly forecast: Gauge<'namespace' | 'policy' | 'signal'>;
  readonly forecastAccuracy: Gauge<'namespace' | 'policy' | 'signal'>;
  readonly fallback: Gauge<'namespace' | 'policy'>;
  /** The target each policy's replica series were last reported with, to drop them when it changes. */
  private readonly targets = new Map<string, string>();

  /** `collect` runs before each scrape: it empties the series of a replica that does not lead. */
  constructor(registry: Registry, collect: (this: { reset(): void }) => Promise<void>) {
    const common = { registers: [registry], collect };
    this.replicas = new Gauge({
      name: 'beastmode_autoscaling_replicas',
      help: "Replicas of a policy's target: current and desired as its HPA reports them, min and max as declared",
      labelNames: ['namespace', 'policy', 'target', 'kind'],
      ...common,
    });
    this.signal = new Gauge({
      name: 'beastmode_autoscaling_signal',
      help: 'LLM signal the operator measures for a policy (in flight, requests/s, TTFT p95 in seconds, throttled ratio)',
      labelNames: ['namespace', 'policy', 'signal'],
      ...common,
    });
    this.signalTarget = new Gauge({
      name: 'beastmode_autoscaling_signal_target',
      help: 'Target of each signal a policy scales on, per replica for in flight and requests/s',
      labelNames: ['namespace', 'policy', 'signal'],
      ...common,
    });
    this.forecast = new Gauge({
      name: 'beastmode_autoscaling_forecast',
      help: "Forecast of a predictive policy's signal at its horizon",
      labelNames: ['namespace', 'policy', 'signal'],
      ...common,
    });
    this.forecastAccuracy = new Gauge({
      name: 'beastmode_autoscaling_forecast_accuracy',
      help: 'Recent accuracy of the forecast, 1 - mean absolute percentage error',
      labelNames: ['namespace', 'policy', 'signal'],
      ...common,
    });
    this.fallback = new Gauge({
      name: 'beastmode_autoscaling_fallback',
      help: 'Whether the fallback holds the declared replicas (the gateways could not be read)',
      labelNames: ['namespace', 'policy'],
      ...common,
    });
  }

  report(r: AutoscalingReport): void {
    const l: Labels = { namespace: r.namespace, policy: r.policy };
    const key = `${r.namespace}/${r.policy}`;
    const previous = this.targets.get(key);
    if (previous !== undefined && previous !== r.target) this.removeReplicas(l, previous);
    this.targets.set(key, r.target);
    for (const kind of REPLICA_KINDS) {
      const v = r.replicas[kind];
      const labels = { ...l, target: r.target, kind };
      if (v === undefined) this.replicas.remove(labels);
      else this.replicas.set(labels, v);
    }
    for (const signal of SIGNALS) {
      setOrRemove(this.signal, { ...l, signal }, r.signals[signal]);
      setOrRemove(this.signalTarget, { ...l, signal }, r.targets[signal]);
    }
    const f = { ...l, signal: FORECAST_SIGNAL };
    setOrRemove(this.forecast, f, r.forecast?.value);
    setOrRemove(this.forecastAccuracy, f, r.forecast?.accuracy);
    setOrRemove(this.fallback, l, r.fallback === undefined ? undefined : Number(r.fallback));
  }

  /** Removes every series of a policy (it was deleted). */
  forget(namespace: string, policy: string): void {
    const l: Labels = { namespace, policy };
    const key = `${namespace}/${policy}`;
    const target = this.targets.get(key);
    if (target !== undefined) this.removeReplicas(l, target);
    this.targets.delete(key);
    for (const signal of SIGNALS) {
      this.signal.remove({ ...l, signal });
      this.signalTarget.remove({ ...l, signal });
    }
    this.forecast.remove({ ...l, signal: FORECAST_SIGNAL });
    this.forecastAccuracy.remove({ ...l, signal: FORECAST_SIGNAL });
    this.fallback.remove(l);
  }

  private removeReplicas(l: Labels, target: string): void {
    for (const kind of REPLICA_KINDS) this.replicas.remove({ ...l, target, kind });
  }
}

function setOrRemove<L extends string>(g: Gauge<L>, labels: Record<L, string>, v: number | undefined): void {
  if (v === undefined) g.remove(labels);
  else g.set(labels, v);
}
