// Model selection's stateful parts of a gateway, wired together: the learning routers, the router models
// (read from ConfigMaps through the API server when the gateway's config comes from one), the embedding
// scorer, their metrics, and what follows each applied config (the models in use, the learners' routes).
import type { Dispatcher } from 'undici';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import type { KubeClient } from '../../../kube/client.js';
import { informerForName } from '../../../kube/informer.js';
import { R } from '../../../kube/resources.js';
import { gatewayWatchOptions, type KubeLog } from '../config/configmap.js';
import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../log.js';
import type { GatewayPolicy } from '../policy/policy.js';
import { bundledDomainModel } from '../routing/domain-model.js';
import { MemoryLearnerStore, RedisLearnerStore } from '../routing/learner-store.js';
import { RouteLearners } from '../routing/route-learners.js';
import { RouterModels, type ConfigMapWatch } from '../routing/router-models.js';
import { EmbeddingScorer } from './embedding-scores.js';
import type { GatewayOptions } from './gateway.js';
import type { GatewayMetrics } from './metrics.js';
import { RouterMetrics } from './router-metrics.js';

/** A ConfigMap watched through the API server with the gateway's client (its Role names the ConfigMap). */
function configMapWatch(client: KubeClient, logger: Logger): ConfigMapWatch {
  const log: KubeLog = (level, msg, fields) => logger.log(level, msg, fields);
  return (namespace, name, onData) => {
    const informer = informerForName(
      client,
      R.ConfigMap,
      namespace,
      name,
      gatewayWatchOptions(log, namespace, name, undefined),
    );
    informer.onChange((type, cm) =>
      onData(type === 'delete' ? undefined : ((cm.data as Record<string, string> | undefined) ?? {})),
    );
    informer.start();
    return () => informer.shutdown();
  };
}

/**
 * The router models a config's routes decide with: parsed (about 20 ms each, once per process) when a
 * config asks for them, not on a request; the learners of the routes that declare learning; and the
 * models' versions in beastmode_router_model_info.
 */
export function followRouterModels(
  config: GatewayConfig,
  learners: RouteLearners,
  models: RouterModels,
  metrics: RouterMetrics,
): void {
  const rows: [string, string, 'quality-cost' | 'embeddings' | 'domains', string][] = [];
  for (const r of config.routes) {
    const { qualityCost, policy, domains } = r.selection;
    if (policy === 'quality-cost' && qualityCost?.targetQuality !== undefined)
      rows.push([r.namespace, r.name, 'quality-cost', models.modelFor(r).version]);
    const embedding = policy === 'quality-cost' ? models.embeddingModelFor(r) : undefined;
    if (embedding !== undefined) rows.push([r.namespace, r.name, 'embeddings', embedding.version]);
    if (domains !== undefined || (policy === 'quality-cost' && qualityCost?.learning !== undefined))
      rows.push([r.namespace, r.name, 'domains', bundledDomainModel().version]);
  }
  metrics.modelsInUse(rows);
  learners.apply(config, (route) => models.modelFor(route));
}

/**
 * Model selection's stateful parts: the learning routers (their counts in Redis when the policy layer has
 * it), the router models (ConfigMaps watched when the gateway reads its config from one), their metrics,
 * and feedback scores fed to the learners.
 */
export function selectionParts(
  opts: GatewayOptions,
  policy: GatewayPolicy,
  store: ConfigStore,
  metrics: GatewayMetrics,
  logger: Logger,
  dispatcher: Dispatcher,
): {
  learners: RouteLearners;
  models: RouterModels;
  routerMetrics: RouterMetrics;
  embeddings: EmbeddingScorer;
} {
  const redis = policy.sharedRedis;
  const learners = new RouteLearners({
    store:
      redis !== undefined ? new RedisLearnerStore(redis) : (opts.pod?.learners ?? new MemoryLearnerStore()),
    log: logger,
    now: opts.now ?? Date.now,
    ...(opts.learnerSyncMs !== undefined ? { syncMs: opts.learnerSyncMs } : {}),
  });
  const routerMetrics = new RouterMetrics(metrics.registry, () => learners);
  policy.onFeedback((served, score) => {
    if (served.learned === undefined) return;
    const { cell, arm } = served.learned;
    const good = learners.feedback(served.namespace, served.route, cell, arm, score);
    if (good !== undefined) routerMetrics.outcome(served.namespace, served.route, arm, good ? 'good' : 'bad');
  });
  const models: RouterModels = new RouterModels({
    watch:
      opts.routerModelWatch ??
      ('configMap' in opts.source ? configMapWatch(opts.source.client, logger) : undefined),
    log: logger,
    loaded: (result) => routerMetrics.modelLoaded(result),
    changed: () => {
      const c = store.current();
      if (c !== undefined) followRouterModels(c.config, learners, models, routerMetrics);
    },
  });
  const embeddings = new EmbeddingScorer({
    models,
    metrics: routerMetrics,
    log: logger,
    now: opts.now ?? Date.now,
    dispatcher,
  });
  return { learners, models, routerMetrics, embeddings };
}
