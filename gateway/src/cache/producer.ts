// Who produced a cached answer: one backend variant of a route, named by a short hash of what decides its
// answers (route, backend, variant, provider, URL, upstream model; for a canary, also the revision it rolls
// out). Every cache entry is keyed by its producer, and a lookup names only producers of the request's own
// variant that the config still serves. So a canary's answers never reach stable users (nor the reverse),
// and once a config retires a producer — a rolled-back canary, a stable spec replaced by a promotion, a
// removed backend — no lookup finds its entries again, on every replica that applied that config.
//
// With the route's cache.keepAcrossRevisions, a stable variant is named by route and backend alone: the
// user declared its revisions' answers equivalent, so a promotion keeps them. A canary is always named by
// its revision, so a rollback fences its answers off whatever the route says.
import { createHash } from 'node:crypto';
import type { CompiledBackend, CompiledRoute, GatewayConfig } from '../../../api/v1alpha1/gatewayconfig.js';

/** The producer id of a backend variant of a route: 16 hex characters. */
export function producerOf(route: CompiledRoute, backend: CompiledBackend): string {
  const identity = ['bm-producer-v1', route.namespace, route.name, backend.name, backend.variant];
  const revisionFree = backend.variant === 'stable' && route.cache.keepAcrossRevisions === true;
  if (!revisionFree) identity.push(backend.provider, backend.url, backend.model);
  if (backend.variant === 'canary') identity.push(route.canary?.revision ?? '');
  return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 16);
}

/** Every producer a config serves. */
export function liveProducers(config: GatewayConfig): Set<string> {
  const live = new Set<string>();
  for (const route of config.routes) for (const b of route.backends) live.add(producerOf(route, b));
  return live;
}

/** The producers of `before` that `after` no longer serves. */
export function retiredProducers(before: ReadonlySet<string>, after: ReadonlySet<string>): string[] {
  const retired: string[] = [];
  for (const p of before) if (!after.has(p)) retired.push(p);
  return retired;
}
