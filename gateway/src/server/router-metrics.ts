// The metrics of model selection by quality/cost and domain: decisions by how they were made, the
// outcomes the learning routers were told, their planned weak share, and which router models a route
// decides with. Registered in the gateway's registry; the gauges are set when /metrics is read.
import client from 'prom-client';
import { METRICS, type RouterDecisionVia } from '../../../api/v1alpha1/index.js';
import type { RouteLearners } from '../routing/route-learners.js';

export type Outcome = 'good' | 'bad' | 'failed';
export type EmbeddingResult = 'ok' | 'timeout' | 'error' | 'skipped' | 'unready';

/** The decision's and the embedding call's time histograms. */
function timings(registers: client.Registry[]): client.Histogram<'namespace' | 'route'>[] {
  const labelNames = ['namespace', 'route'] as const;
  return [
    new client.Histogram({
      name: METRICS.routerDecisionSeconds,
      help: "Time spent deciding a quality-cost or domain route's backend from the prompt",
      labelNames,
      buckets: [5e-6, 1e-5, 2.5e-5, 5e-5, 7.5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 5e-3],
      registers,
    }),
    new client.Histogram({
      name: METRICS.routerEmbeddingSeconds,
      help: "Time to get a prompt's embedding, answered or not",
      labelNames,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2],
      registers,
    }),
  ];
}

export class RouterMetrics {
  private readonly decisions: client.Counter<'namespace' | 'route' | 'backend' | 'via'>;
  private readonly outcomes: client.Counter<'namespace' | 'route' | 'arm' | 'outcome'>;
  private readonly models: client.Gauge<'namespace' | 'route' | 'kind' | 'version'>;
  private readonly loads: client.Counter<'result'>;
  private readonly decisionSeconds: client.Histogram<'namespace' | 'route'>;
  private readonly embeddings: client.Counter<'namespace' | 'route' | 'result'>;
  private readonly embeddingSeconds: client.Histogram<'namespace' | 'route'>;

  constructor(registry: client.Registry, learners: () => RouteLearners | undefined) {
    const registers = [registry];
    this.decisions = new client.Counter({
      name: METRICS.routerDecisions,
      help: 'Selection decisions of quality-cost and domain routes, by how they were made',
      labelNames: ['namespace', 'route', 'backend', 'via'],
      registers,
    });
    [this.decisionSeconds, this.embeddingSeconds] = timings(registers) as [
      client.Histogram<'namespace' | 'route'>,
      client.Histogram<'namespace' | 'route'>,
    ];
    this.embeddings = new client.Counter({
      name: METRICS.routerEmbeddings,
      help: "Prompt embeddings asked of a route's embeddings server, by result (all but ok: the built-in model decided)",
      labelNames: ['namespace', 'route', 'result'],
      registers,
    });
    this.outcomes = new client.Counter({
      name: METRICS.routerOutcomes,
      help: 'Outcomes the learning router was told: feedback scores and failures of the backend it chose',
      labelNames: ['namespace', 'route', 'arm', 'outcome'],
      registers,
    });
    new client.Gauge({
      name: METRICS.routerLearnedWeakShare,
      help: "Share of the learning router's learned traffic planned to the weak backend",
      labelNames: ['namespace', 'route'],
      registers,
      collect() {
        this.reset();
        const l = learners();
        for (const route of l?.routes() ?? []) {
          const share = l?.state(route)?.summary.plannedWeakShare;
          const [namespace = '', name = ''] = route.split('/');
          if (share !== undefined) this.set({ namespace, route: name }, share);
        }
      },
    });
    this.loads = new client.Counter({
      name: METRICS.routerModelLoads,
      help: 'Router models read from ConfigMaps, by result (refused: not a model, the last good one kept)',
      labelNames: ['result'],
      registers,
    });
    this.models = new client.Gauge({
      name: METRICS.routerModelInfo,
      help: 'The router models a route decides with (value 1)',
      labelNames: ['namespace', 'route', 'kind', 'version'],
      registers,
    });
  }

  decided(namespace: string, route: string, backend: string, via: RouterDecisionVia): void {
    this.decisions.inc({ namespace, route, backend, via });
  }

  /** One decision took `seconds`. */
  decisionTook(namespace: string, route: string, seconds: number): void {
    this.decisionSeconds.observe({ namespace, route }, seconds);
  }

  /** One prompt embedding: its result, and its time when one was asked for. */
  embedded(namespace: string, route: string, result: EmbeddingResult, seconds?: number): void {
    this.embeddings.inc({ namespace, route, result });
    if (seconds !== undefined) this.embeddingSeconds.observe({ namespace, route }, seconds);
  }

  outcome(namespace: string, route: string, arm: 'weak' | 'strong', outcome: Outcome): void {
    this.outcomes.inc({ namespace, route, arm, outcome });
  }

  modelLoaded(result: 'applied' | 'refused'): void {
    this.loads.inc({ result });
  }

  /** The models of the applied config: [namespace, route, kind, version] rows. */
  modelsInUse(rows: [string, string, 'quality-cost' | 'embeddings' | 'domains', string][]): void {
    this.models.reset();
    for (const [namespace, route, kind, version] of rows)
      this.models.set({ namespace, route, kind, version }, 1);
  }
}
