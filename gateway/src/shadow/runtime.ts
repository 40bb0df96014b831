// A route's shadow in the runtime form the request path reads: its provider adapter, upstream origin and
// metric labels (variant "shadow"), built with the rest of the route when a config loads.
import { SHADOW_VARIANT, type CompiledRoute, type CompiledShadow } from '../../../api/v1alpha1/index.js';
import type { MetricLabels } from '../config/load.js';
import { providerAdapter, type ProviderAdapter } from '../providers/provider.js';

export interface RuntimeShadow {
  spec: CompiledShadow;
  adapter: ProviderAdapter;
  /** scheme://host:port, the key of the connection pool. */
  origin: string;
  /** The URL path prefix, e.g. "/v1". */
  basePath: string;
  labels: MetricLabels;
  /** namespace/route: the key of its sampling credit and calls in flight, kept across reloads. */
  key: string;
}

/** The route's runtime shadow, as a spread (nothing for a route without one). */
export function runtimeShadow(route: CompiledRoute): { shadow?: RuntimeShadow } {
  const spec = route.shadow;
  if (spec === undefined) return {};
  const url = new URL(spec.backend.url);
  return {
    shadow: {
      spec,
      adapter: providerAdapter(spec.backend.provider),
      origin: url.origin,
      basePath: url.pathname.replace(/\/+$/, ''),
      labels: Object.freeze({
        namespace: route.namespace,
        route: route.name,
        backend: spec.backend.name,
        variant: SHADOW_VARIANT,
      }),
      key: `${route.namespace}/${route.name}`,
    },
  };
}
