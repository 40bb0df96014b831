// Chooses the metric provider of a Canary from spec.analysis.provider.type: an exhaustive switch; the
// schema's enum refuses unknown types, and this throws rather than fall back if one slips through.
import type { MetricProvider as MetricProviderSpec } from '../../../../api/v1alpha1/index.js';
import type { MetricProvider } from '../types.js';
import { GatewayMetricProvider } from './gateway.js';
import { PrometheusMetricProvider } from './prometheus.js';

export interface ProviderDeps {
  /** One gateway provider per operator: it keeps the previous scrape of every instance. */
  gateway: GatewayMetricProvider;
}

export function createMetricProvider(
  spec: MetricProviderSpec | undefined,
  deps: ProviderDeps,
): MetricProvider {
  const type = spec?.type ?? 'gateway';
  switch (type) {
    case 'gateway':
      return deps.gateway;
    case 'prometheus': {
      if (spec?.prometheus === undefined)
        throw new Error('provider type prometheus needs prometheus settings');
      return new PrometheusMetricProvider(spec.prometheus);
    }
    default: {
      const never: never = type;
      throw new Error(`unknown metric provider type ${String(never)}`);
    }
  }
}
