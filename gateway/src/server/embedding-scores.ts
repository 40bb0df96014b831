// Prompt scores from a route's embeddings server: the prompt's embedding (within the route's timeout),
// scored by the router trained on that embedding model. Anything else — no router loaded yet, a timeout, an
// error, a vector of the wrong length — is a fallback, never a failed request: the built-in model decides
// and the reason goes with its decision. A server that fails three times in a row is rested for a few
// seconds (RestingServers), so an outage costs the timeout on a few requests, not on all.
import type { Dispatcher } from 'undici';
import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import { embedderText } from '../compliance/route-policy.js';
import type { Logger } from '../log.js';
import {
  EmbeddingsError,
  fetchEmbeddings,
  REST_SECONDS,
  RestingServers,
} from '../routing/embeddings-client.js';
import { weakSufficesFromEmbedding } from '../routing/router-embeddings.js';
import { thresholdFor } from '../routing/router-model.js';
import type { RouterModels } from '../routing/router-models.js';
import type { EmbeddingResult, RouterMetrics } from './router-metrics.js';

/** The embedding router's score of a prompt, or why the built-in model decides instead. */
export type EmbeddingScore = { p: number; threshold: number; why: string } | { fallback: string };

export interface EmbeddingScorerDeps {
  models: RouterModels;
  metrics: RouterMetrics | undefined;
  log: Logger;
  now: () => number;
  /** Connects where the egress policy allows. */
  dispatcher?: Dispatcher;
}

export class EmbeddingScorer {
  /** Embeddings servers (and models) failing in a row, rested. */
  private readonly servers = new RestingServers();

  constructor(private readonly deps: EmbeddingScorerDeps) {}

  /** The score of `prompt` for a route that declares qualityCost.embeddings. */
  async score(route: CompiledRoute, prompt: string): Promise<EmbeddingScore> {
    const qc = route.selection.qualityCost;
    const emb = qc?.embeddings;
    if (qc?.targetQuality === undefined || emb === undefined) return { fallback: 'no embeddings declared' };
    const model = this.deps.models.embeddingModelFor(route);
    if (model === undefined) return this.fellBack(route, 'unready', 'embedding router not loaded');
    if (model.embeddingModel !== emb.model)
      return this.fellBack(route, 'unready', `embedding router trained on ${model.embeddingModel}`);
    const id = `${emb.url} ${emb.model}`;
    const now = this.deps.now();
    if (!this.servers.available(id, now)) return this.fellBack(route, 'skipped', 'embeddings server rested');
    const started = performance.now();
    const took = () => (performance.now() - started) / 1000;
    try {
      const text = embedderText(route.compliance, emb.url, prompt);
      const [vector = []] = await fetchEmbeddings(emb, [text], emb.timeoutMs, this.deps.dispatcher);
      const p = weakSufficesFromEmbedding(model, vector);
      this.servers.succeeded(id);
      this.deps.metrics?.embedded(route.namespace, route.name, 'ok', took());
      const threshold = thresholdFor(model, qc.targetQuality);
      const why = `embeddings router ${model.version} p(weak) ${p.toFixed(2)} vs ${threshold.toFixed(2)}`;
      return { p, threshold, why };
    } catch (err) {
      const timedOut = err instanceof EmbeddingsError && err.timedOut;
      const reason = err instanceof Error ? err.message : String(err);
      if (this.servers.failed(id, now))
        this.deps.log.log('warn', 'Embeddings server failing; the built-in router model decides', {
          route: `${route.namespace}/${route.name}`,
          url: emb.url,
          reason,
          restSeconds: REST_SECONDS,
        });
      return this.fellBack(
        route,
        timedOut ? 'timeout' : 'error',
        `embeddings ${timedOut ? 'timeout' : 'error'}`,
        took(),
      );
    }
  }

  private fellBack(
    route: CompiledRoute,
    result: EmbeddingResult,
    why: string,
    seconds?: number,
  ): EmbeddingScore {
    this.deps.metrics?.embedded(route.namespace, route.name, result, seconds);
    return { fallback: why };
  }
}
