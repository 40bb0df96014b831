// Token and cost counters (names from api/v1alpha1/metrics.ts): per route/backend/variant, and per
// caller (key name and team — never the key itself).
import type { Counter, Registry } from 'prom-client';
import { METRICS } from '../../../api/v1alpha1/metrics.js';
import { counter } from '../policy/metrics.js';
import type { Caller, Usage } from '../policy/types.js';

export interface CostRecord {
  namespace: string;
  route: string;
  backend: string;
  variant: string;
  caller: Caller;
  usage: Usage;
  costUsd: number;
}

export class CostMetrics {
  private readonly tokens: Counter<'namespace' | 'route' | 'backend' | 'variant' | 'direction'>;
  private readonly cost: Counter<'namespace' | 'route' | 'backend' | 'variant'>;
  private readonly callerCost: Counter<'key' | 'team'>;

  constructor(registry: Registry) {
    this.tokens = counter(registry, METRICS.tokens, 'Tokens by route, backend and direction', [
      'namespace',
      'route',
      'backend',
      'variant',
      'direction',
    ]);
    this.cost = counter(registry, METRICS.cost, 'Cost in USD from backend pricing', [
      'namespace',
      'route',
      'backend',
      'variant',
    ]);
    this.callerCost = counter(registry, METRICS.costByCaller, 'Cost in USD by API key and team', [
      'key',
      'team',
    ]);
  }

  record(r: CostRecord): void {
    const labels = { namespace: r.namespace, route: r.route, backend: r.backend, variant: r.variant };
    this.tokens.inc({ ...labels, direction: 'input' }, r.usage.promptTokens);
    this.tokens.inc({ ...labels, direction: 'output' }, r.usage.completionTokens);
    if (r.costUsd > 0) {
      this.cost.inc(labels, r.costUsd);
      this.callerCost.inc({ key: r.caller.key, team: r.caller.team ?? '' }, r.costUsd);
    }
  }
}
