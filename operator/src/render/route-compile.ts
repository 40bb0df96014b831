// Compiles one accepted route (with its canary's overlay) into its GatewayConfig entry, checked against the
// contract's schema, and the memo that spares recompiling routes that did not change. The memo belongs to
// whoever runs the translator (the operator's controllers), never to this module, so two operators in one
// process never share one.
import { z } from 'zod';
import {
  CompiledRoute,
  compileRoute,
  type Canary,
  type CanaryOverlay,
  type CompiledExperiment,
  type Experiment,
  type ModelRoute,
} from '../../../api/v1alpha1/index.js';

export type CompileResult = { compiled: CompiledRoute } | { error: string };

/** Compiled routes by route key (namespace/name), valid while the route and canary versions hold. */
export class CompiledRouteMemo {
  private readonly entries = new Map<string, { versions: string; result: CompileResult }>();

  lookup(routeKey: string, versions: string): CompileResult | undefined {
    const hit = this.entries.get(routeKey);
    return hit?.versions === versions ? hit.result : undefined;
  }

  store(routeKey: string, versions: string, result: CompileResult): void {
    this.entries.set(routeKey, { versions, result });
  }

  /** A route went away: its entry would only take memory. */
  forget(routeKey: string): void {
    this.entries.delete(routeKey);
  }

  get size(): number {
    return this.entries.size;
  }
}

const issues = (e: z.ZodError): string =>
  e.issues.map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ');

function compileUnmemoised(
  route: ModelRoute,
  overlay: CanaryOverlay | undefined,
  split: CompiledExperiment | undefined,
): CompileResult {
  try {
    const compiled = compileRoute(route, overlay, split);
    const parsed = CompiledRoute.safeParse(compiled);
    if (parsed.success) return { compiled };
    return { error: issues(parsed.error) };
  } catch (e) {
    return { error: e instanceof z.ZodError ? issues(e) : (e as Error).message };
  }
}

/**
 * The route compiled with its canary's overlay and its experiment's split, or why it does not compile.
 * Memoised by the route's, the canary's and the experiment's resourceVersions: each overlay is a function
 * of its object, so the versions fix the result.
 */
export function compileRouteChecked(
  route: ModelRoute,
  canary: Canary | undefined,
  overlay: CanaryOverlay | undefined,
  memo: CompiledRouteMemo | undefined,
  experiment?: Experiment,
  split?: CompiledExperiment,
): CompileResult {
  const routeVersion = route.metadata.resourceVersion;
  const versions = `${routeVersion ?? ''}/${canary?.metadata.resourceVersion ?? ''}/${experiment?.metadata.resourceVersion ?? ''}`;
  const routeKey = `${route.metadata.namespace ?? ''}/${route.metadata.name}`;
  const hit = routeVersion !== undefined ? memo?.lookup(routeKey, versions) : undefined;
  if (hit) return hit;
  const result = compileUnmemoised(route, overlay, split);
  memo?.store(routeKey, versions, result);
  return result;
}
