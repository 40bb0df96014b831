// The exact-match cache key: SHA-256 of a canonical form of the request, scoped to the route and, per
// the route's cache.scope, to the caller's team or API key (so tenants never share entries). An entry is
// stored under this key and its producer (producer.ts), so versions never share one either.
//
// Canonical form: the request body minus the fields that do not change the output (DELIVERY_FIELDS),
// minus top-level nulls (null means "default" in the OpenAI API), with object keys sorted recursively
// (array-index keys such as "2" first, in numeric order), written as JSON.
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
 * Whether a key is an array index ("0" to "4294967294", no leading zero): an object lists those first, in
 * numeric order, whatever order they were added in.
 */
function isArrayIndex(key: string): boolean {
  const c = key.charCodeAt(0);
  if (c < 48 || c > 57 || (c === 48 && key.length > 1) || key.length > 10) return false;
  for (let i = 1; i < key.length; i++) {
    const d = key.charCodeAt(i);
    if (d < 48 || d > 57) return false;
  }
  return Number(key) < 4294967295;
}

/** Objects with more keys than this are sorted by Array.prototype.sort. */
const SMALL = 16;

/**
 * An object's keys in canonical order: array indices first in numeric order (as Object.keys gives them),
 * then the other keys sorted by code unit. That is the order JSON.stringify wrote an object with sorted
 * keys in, which the form has always had: entries stored under it stay found.
 */
function canonicalKeys(value: object): string[] {
  const keys = Object.keys(value);
  let indices = 0;
  while (indices < keys.length && isArrayIndex(keys[indices]!)) indices++;
  if (keys.length - indices > SMALL) {
    const rest = keys.slice(indices).sort();
    for (let i = 0; i < rest.length; i++) keys[indices + i] = rest[i]!;
    return keys;
  }
  // Insertion sort by code unit (what sort() does with strings): a request's objects have a few keys, and
  // Array.prototype.sort allocated its work space on every call (~1.6 KB a request).
  for (let i = indices + 1; i < keys.length; i++) {
    const k = keys[i]!;
    let j = i - 1;
    for (; j >= indices && keys[j]! > k; j--) keys[j + 1] = keys[j]!;
    keys[j + 1] = k;
  }
  return keys;
}

/** Whether JSON leaves a value out of an object (and writes null for it in an array). */
const unwritable = (v: unknown): boolean =>
  v === undefined || typeof v === 'function' || typeof v === 'symbol';

/**
 * The JSON text of a value with every object's keys in canonical order, written directly: no sorted copy
 * of the body is made (the copy's objects, without a prototype, were slow for V8 to build and to walk).
 */
function canonicalJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      out += (i === 0 ? '' : ',') + (unwritable(v) ? 'null' : canonicalJson(v));
    }
    return out + ']';
  }
  return objectJson(value as Record<string, unknown>, false);
}

/** An object's JSON text in canonical form; at the top of a request, without its nulls and DELIVERY_FIELDS. */
function objectJson(value: Record<string, unknown>, request: boolean): string {
  let out = '{';
  for (const k of canonicalKeys(value)) {
    const v = value[k];
    if (unwritable(v) || (request && (v === null || DELIVERY_FIELDS.has(k)))) continue;
    out += (out.length === 1 ? '' : ',') + JSON.stringify(k) + ':' + canonicalJson(v);
  }
  return out + '}';
}

export function canonicalRequest(request: ChatRequest): string {
  return objectJson(request, true);
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
