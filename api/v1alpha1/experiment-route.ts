// What a compiled route's experiment must satisfy for the gateway to serve it: every variant is served by a
// backend of the route, names are unique, a promoted variant exists, and some variant can be assigned.
import type { z } from 'zod';
import type { CompiledExperiment } from './experiment-compiled.js';

interface RouteWithExperiment {
  backends: readonly { name: string }[];
  experiment?: CompiledExperiment | undefined;
}

/** Adds an issue at `experiment` for each rule the route's experiment breaks. */
export function checkRouteExperiment(r: RouteWithExperiment, ctx: z.RefinementCtx): void {
  const e = r.experiment;
  if (e === undefined) return;
  const issue = (message: string) =>
    ctx.addIssue({ code: 'custom', message: `experiment ${e.name}: ${message}`, path: ['experiment'] });
  const backends = new Set(r.backends.map((b) => b.name));
  for (const v of e.variants) {
    if (!backends.has(v.backend))
      issue(`variant ${v.name} names backend ${v.backend}, which the route does not have`);
  }
  const names = new Set(e.variants.map((v) => v.name));
  if (names.size !== e.variants.length) issue('variant names must be unique');
  if (e.promoted !== undefined && !names.has(e.promoted))
    issue(`promoted variant ${e.promoted} is not one of its variants`);
  if (e.promoted === undefined && !e.variants.some((v) => v.weight > 0))
    issue('at least one variant needs a weight above 0');
}
