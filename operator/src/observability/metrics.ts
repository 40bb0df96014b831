// Operator metrics (prom-client): reconcile duration and errors by controller, queue depth, watch
// restarts, and API writes by verb and kind (the benchmark reads beastmode_operator_api_writes_total);
// and the state the controllers decide on: each Canary's rollout and each AutoscalingPolicy's scaling.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AutoscalingMetrics } from './autoscaling-metrics.js';
import { CanaryMetrics } from './canary-metrics.js';

export interface OperatorMetrics {
  registry: Registry;
  reconcileDuration: Histogram<'controller'>;
  reconcileErrors: Counter<'controller'>;
  queueDepth: Gauge<'controller'>;
  watchRestarts: Counter<'kind' | 'reason'>;
  apiWrites: Counter<'verb' | 'kind'>;
  isLeader: Gauge;
  /** Rollout state per Canary, served by the leader only. */
  canaries: CanaryMetrics;
  /** Scaling state per AutoscalingPolicy, served by the leader only. */
  autoscaling: AutoscalingMetrics;
}

export function createMetrics(withDefaults = true): OperatorMetrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'beastmode_operator_' });
  const isLeader = new Gauge({
    name: 'beastmode_operator_leader',
    help: '1 while this instance holds the leader lease',
    registers: [registry],
  });
  // Only the leader reconciles, so only its controllers' state is current: a replica that does not lead
  // (a standby, or a leader that lost the lease and is exiting) serves none of it rather than stale weights.
  const leaderOnly = async function (this: { reset(): void }): Promise<void> {
    const { values } = await isLeader.get();
    if (values[0]?.value !== 1) this.reset();
  };
  return {
    registry,
    reconcileDuration: new Histogram({
      name: 'beastmode_operator_reconcile_duration_seconds',
      help: 'Time to reconcile one key, by controller',
      labelNames: ['controller'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    }),
    reconcileErrors: new Counter({
      name: 'beastmode_operator_reconcile_errors_total',
      help: 'Reconciles that failed and were retried with backoff, by controller',
      labelNames: ['controller'],
      registers: [registry],
    }),
    queueDepth: new Gauge({
      name: 'beastmode_operator_queue_depth',
      help: 'Keys waiting in the work queue, by controller',
      labelNames: ['controller'],
      registers: [registry],
    }),
    watchRestarts: new Counter({
      name: 'beastmode_operator_watch_restarts_total',
      help: 'Watches restarted, by kind and reason (gone = relist after 410, timeout = silent watch)',
      labelNames: ['kind', 'reason'],
      registers: [registry],
    }),
    apiWrites: new Counter({
      name: 'beastmode_operator_api_writes_total',
      help: 'Mutating API requests, by verb and kind',
      labelNames: ['verb', 'kind'],
      registers: [registry],
    }),
    isLeader,
    canaries: new CanaryMetrics(registry, leaderOnly),
    autoscaling: new AutoscalingMetrics(registry, leaderOnly),
  };
}
