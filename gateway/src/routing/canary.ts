// Canary assignment: which requests of a route see the canary variant of its canary backend.
// Sticky and monotone: a user is in the canary iff their bucket is below weight×100, so raising the
// weight only ever adds users, and the same user gets the same answer on every replica.
import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import { bucketOf } from './hash.js';

/** What a request says about who sent it, as far as routing cares. */
export interface RequestFacts {
  /** Sticky identity: x-user-id header, else the body's "user", else the API key name, else random. */
  identity: string;
  /** Lower-cased request headers. */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  apiKey?: string | undefined;
  team?: string | undefined;
}

type Canary = NonNullable<CompiledRoute['canary']>;
type Match = NonNullable<Canary['match']>[number];

function headerValue(headers: RequestFacts['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** A cohort matches when every condition it states holds (headers equal, key listed, team listed). */
export function matchesCohort(match: Match, facts: RequestFacts): boolean {
  for (const [name, want] of Object.entries(match.headers ?? {})) {
    if (headerValue(facts.headers, name) !== want) return false;
  }
  if (match.apiKeys && (facts.apiKey === undefined || !match.apiKeys.includes(facts.apiKey))) return false;
  if (match.teams && (facts.team === undefined || !match.teams.includes(facts.team))) return false;
  return true;
}

/** Whether this request is assigned to the canary variant of `route.canary.backend`. */
export function isCanaryRequest(route: CompiledRoute, facts: RequestFacts): boolean {
  const canary = route.canary;
  if (canary === undefined || canary.weight <= 0) return false;
  if (canary.match && canary.match.length > 0 && !canary.match.some((m) => matchesCohort(m, facts))) {
    return false;
  }
  const route_ = `${route.namespace}/${route.name}`;
  return bucketOf(facts.identity, route_) < canary.weight * 100;
}
