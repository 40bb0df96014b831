// Which Experiment splits a route, and what it puts on the route's GatewayConfig entry. One Experiment per
// route: the oldest one naming it (by name among those of the same second); any other is refused in its
// own status (operator/src/experiments/reconcile.ts).
import {
  ExperimentSpec,
  experimentOverlayFor,
  type CompiledExperiment,
  type Experiment,
} from '../../../api/v1alpha1/index.js';

type Named = { metadata: { name: string; creationTimestamp?: string | undefined } };

const olderFirst = (a: Named, b: Named): number => {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  return a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0;
};

/** The Experiment that owns a route: the oldest live one naming it. */
export function experimentFor(route: string, experiments: readonly Experiment[]): Experiment | undefined {
  return experiments
    .filter((e) => e.spec.routeRef.name === route && !e.metadata.deletionTimestamp)
    .sort(olderFirst)[0];
}

/**
 * The overlay of an experiment as the cache holds it on a route with these backends; undefined when its
 * spec does not parse or a variant names a backend the route lacks (the experiment's status says so, and
 * the route keeps serving as written rather than failing to compile).
 */
export function experimentOverlay(
  experiment: Experiment,
  backends: readonly { name: string }[],
): CompiledExperiment | undefined {
  const spec = ExperimentSpec.safeParse(experiment.spec);
  if (!spec.success) return undefined;
  const names = new Set(backends.map((b) => b.name));
  if (!spec.data.variants.every((v) => names.has(v.backend))) return undefined;
  return experimentOverlayFor({ ...experiment, spec: spec.data });
}

function splitOf(experiment: Experiment): string {
  const spec = ExperimentSpec.safeParse(experiment.spec);
  return spec.success ? JSON.stringify(experimentOverlayFor({ ...experiment, spec: spec.data }) ?? null) : '';
}

/** Whether an update of an Experiment changes what it puts on its route (spec, phase, weights, winner). */
export function experimentSplitChanged(o: Experiment, old: Experiment | undefined): boolean {
  if (old === undefined || o.metadata.generation !== old.metadata.generation) return true;
  if (o.metadata.deletionTimestamp !== old.metadata.deletionTimestamp) return true;
  return splitOf(o) !== splitOf(old);
}
