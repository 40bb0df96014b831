// The exact-match cache key: SHA-256 of a canonical form of the request, scoped to the route and, per
// the route's cache.scope, to the caller's team or API key (so tenants never share entries). An entry is
// stored under this key and its producer (producer.ts), so versions never share one either.
//
// Canonical form: the request body minus the fields that do not change the output (DELIVERY_FIELDS),
// minus top-level nulls (null means "default" in the OpenAI API), with object keys sorted recursively.
// Every other field — including ones this gateway does not know — is part of the key, so an unknown
// parameter can only cause a miss, never a wrong hit.
import { hash } from 'node:crypto';
import type { CompiledRoute } from '../../../api/v1alpha1/gatewayconfig.js';
import type { Caller, ChatRequest } from '../policy/types.js';

/** Fields that change how or to whom a response is delivered or logged, not what it says. */
export const DELIVERY_FIELDS: ReadonlySet<string> = new Set([
  'stream',
  'stream_options',
  'user',
  'metadata',
  'store',
  'safety_identifier',
  'prompt_cache_key',
  'prompt_cache_retention',
]);

/**
 * An object without a prototype: assigning its "__proto__" key stores a key like any other (on a plain
 * object it would set the prototype and vanish from the JSON, so bodies differing there shared a key).
 */
const bare = (): Record<string, unknown> => Object.create(null) as Record<string, unknown>;

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value !== 'object' || value === null) return value;
  const out = bare();
  for (const k of Object.keys(value).sort()) out[k] = sortKeys((value as Record<string, unknown>)[k]);
  return out;
}

export function canonicalRequest(request: ChatRequest): string {
  const kept = bare();
  for (const [k, v] of Object.entries(request)) {
    if (!DELIVERY_FIELDS.has(k) && v !== null && v !== undefined) kept[k] = v;
  }
  return JSON.stringify(sortKeys(kept));
}

/** Who may share an entry: everyone on the route, a team, or one key. A key without a team is its own team. */
export function cacheScope(scope: CompiledRoute['cache']['scope'], caller: Caller): string {
  switch (scope) {
    case 'route':
      return '*';
    case 'team':
      return caller.team !== undefined ? `t:${caller.team}` : `k:${caller.key}`;
    case 'api-key':
      return `k:${caller.key}`;
    default: {
      const never: never = scope;
      throw new Error(`unknown cache scope ${String(never)}`);
    }
  }
}

export function cacheKey(route: CompiledRoute, caller: Caller, request: ChatRequest): string {
  // One-shot hash (no Hash object): this runs for every request on a cached route.
  return hash(
    'sha256',
    JSON.stringify([
      'bm-cache-v1',
      `${route.namespace}/${route.name}`,
      cacheScope(route.cache.scope, caller),
      canonicalRequest(request),
    ]),
    'hex',
  );
}

/**
 * Whether a request's answer is reproducible: temperature 0, top_p 1 (or unset), one choice. An unset
 * temperature is the provider default (1), so it counts as non-deterministic.
 */
export function isDeterministic(request: ChatRequest): boolean {
  const { temperature, top_p: topP, n } = request;
  if (temperature !== 0) return false;
  if (topP !== undefined && topP !== null && topP !== 1) return false;
  return n === undefined || n === null || n === 1;
}

/** Why a request skips the cache, or undefined when it is cacheable. */
export function bypassReason(route: CompiledRoute, request: ChatRequest): string | undefined {
  if (route.cache.mode === 'off') return 'cache off';
  if (!route.cache.cacheNonDeterministic && !isDeterministic(request)) return 'non-deterministic';
  return undefined;
}
