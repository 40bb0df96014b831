// The runtime form of a route's experiment, built once per config: the weights assignment reads, each
// variant's backend and template, and the labels its metrics are counted under. Labels come only from the
// config (route, experiment and variant names), so the series stay bounded by routes × variants × metrics.
import type { CompiledExperiment, CompiledRoute, RequestTemplate } from '../../../api/v1alpha1/index.js';

export interface RuntimeVariant {
  name: string;
  backend: string;
  template: RequestTemplate | undefined;
  /** namespace, route, experiment, variant: the labels of its metrics (one object per config). */
  labels: Readonly<Record<'namespace' | 'route' | 'experiment' | 'variant', string>>;
  /** `<experiment>/<variant>`, the x-beastmode-experiment header. */
  header: string;
}

export interface RuntimeExperiment {
  spec: CompiledExperiment;
  /** The variants assignment chooses from, by weight (only the winner once one is promoted). */
  weights: Record<string, number>;
  variants: Map<string, RuntimeVariant>;
  /** Still measuring (no winner promoted): answers are not cached, and every request is counted. */
  running: boolean;
}

/** `{ experiment }` for a route that carries one, else nothing (spread into the runtime route). */
export function runtimeExperiment(route: CompiledRoute): { experiment?: RuntimeExperiment } {
  const spec = route.experiment;
  if (spec === undefined) return {};
  const variants = new Map<string, RuntimeVariant>();
  for (const v of spec.variants) {
    variants.set(v.name, {
      name: v.name,
      backend: v.backend,
      template: v.template,
      labels: Object.freeze({
        namespace: route.namespace,
        route: route.name,
        experiment: spec.name,
        variant: v.name,
      }),
      header: `${spec.name}/${v.name}`,
    });
  }
  const weights: Record<string, number> =
    spec.promoted !== undefined
      ? { [spec.promoted]: 1 }
      : Object.fromEntries(spec.variants.map((v) => [v.name, v.weight]));
  return { experiment: { spec, weights, variants, running: spec.promoted === undefined } };
}
