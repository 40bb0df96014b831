// The gateway's shadow mirror, wired to its config store (routes no longer mirrored are forgotten) and to
// the pipeline's requests in flight (the load above which nothing is mirrored).
import { SHADOW_GATEWAY_LOAD_CUTOFF } from '../../../api/v1alpha1/index.js';
import type { SecretResolver } from '../config/secrets.js';
import type { ConfigStore } from '../config/store.js';
import type { Logger } from '../log.js';
import type { GatewayMetrics } from '../server/metrics.js';
import type { Pipeline } from '../server/pipeline.js';
import type { UpstreamPools } from '../server/pools.js';
import { ShadowMirror } from './mirror.js';

export interface ShadowParts {
  pools: UpstreamPools;
  secrets: SecretResolver;
  metrics: GatewayMetrics;
  now: () => number;
  log: Logger;
  self: () => string;
}

export function shadowMirror(parts: ShadowParts, store: ConfigStore, pipeline: () => Pipeline): ShadowMirror {
  const load = (): number => {
    const max = store.current()?.config.limits.maxConcurrentRequests;
    return max === undefined ? 1 : pipeline().inflightRequests / max;
  };
  const mirror = new ShadowMirror({
    ...parts,
    metrics: parts.metrics.shadow,
    load,
    loadCutoff: SHADOW_GATEWAY_LOAD_CUTOFF,
  });
  store.onChange((c) => {
    const keys = new Set<string>();
    for (const r of c.routes.values()) if (r.shadow !== undefined) keys.add(r.shadow.key);
    mirror.retain(keys);
  });
  return mirror;
}
