// Operator metrics (prom-client): reconcile duration and errors by controller, queue depth, watch
// restarts, and API writes by verb and kind (the benchmark reads beastmode_operator_api_writes_total).
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface OperatorMetrics {
  registry: Registry;
  reconcileDuration: Histogram<'controller'>;
  reconcileErrors: Counter<'controller'>;
  queueDepth: Gauge<'controller'>;
  watchRestarts: Counter<'kind' | 'reason'>;
  apiWrites: Counter<'verb' | 'kind'>;
  isLeader: Gauge;
}

export function createMetrics(withDefaults = true): OperatorMetrics {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'beastmode_operator_' });
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
    isLeader: new Gauge({
      name: 'beastmode_operator_leader',
      help: '1 while this instance holds the leader lease',
      registers: [registry],
    }),
  };
}
