// Token and cost counters (names from api/v1alpha1/metrics.ts): per route/backend/variant, and per
// caller (key name and team — never the key itself). The series are folded (server/folded-series.ts), one
// per label set: prom-client would otherwise hash a label object on every settle.
import type { Counter } from 'prom-client';
import type { FoldedCounter, FoldedSeries } from '../server/folded-series.js';
import type { Caller, Usage } from '../policy/types.js';

type BackendLabel = 'namespace' | 'route' | 'backend' | 'variant';

/** The counters this module increments (the gateway's registry holds them). */
export interface CostCounters {
  tokens: Counter<BackendLabel | 'direction'>;
  cost: Counter<BackendLabel>;
  costByCaller: Counter<'key' | 'team'>;
  /** Whose `collect` the three counters were given. */
  folded: FoldedSeries;
}

export interface CostRecord {
  namespace: string;
  route: string;
  backend: string;
  variant: string;
  caller: Caller;
  usage: Usage;
  costUsd: number;
}

interface BackendChildren {
  input: FoldedCounter;
  output: FoldedCounter;
  cost: FoldedCounter;
}

export class CostMetrics {
  private readonly byBackend = new Map<string, BackendChildren>();
  private readonly byCaller = new Map<string, FoldedCounter>();

  constructor(private readonly counters: CostCounters) {}

  record(r: CostRecord): void {
    const children = this.backendChildren(r);
    children.input.inc(r.usage.input);
    children.output.inc(r.usage.output);
    if (r.costUsd > 0) {
      children.cost.inc(r.costUsd);
      this.callerChild(r.caller).inc(r.costUsd);
    }
  }

  private backendChildren(r: CostRecord): BackendChildren {
    const k = `${r.namespace}\u0000${r.route}\u0000${r.backend}\u0000${r.variant}`;
    let c = this.byBackend.get(k);
    if (c === undefined) {
      const labels = { namespace: r.namespace, route: r.route, backend: r.backend, variant: r.variant };
      const { folded, tokens, cost } = this.counters;
      c = {
        input: folded.counter(tokens, { ...labels, direction: 'input' }),
        output: folded.counter(tokens, { ...labels, direction: 'output' }),
        cost: folded.counter(cost, labels),
      };
      this.byBackend.set(k, c);
    }
    return c;
  }

  private callerChild(caller: Caller): FoldedCounter {
    const team = caller.team ?? '';
    const k = `${caller.key}\u0000${team}`;
    let c = this.byCaller.get(k);
    if (c === undefined)
      this.byCaller.set(
        k,
        (c = this.counters.folded.counter(this.counters.costByCaller, { key: caller.key, team })),
      );
    return c;
  }
}
