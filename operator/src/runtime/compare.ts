// Pure comparisons that keep reconciles write-free when nothing changed: deep equality, "desired is
// contained in live" (the server adds defaults, so live has more fields than we send), and a stable hash.
import { createHash } from 'node:crypto';

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}

/**
 * True when every field of `desired` is present in `live` with the same value. Objects may have extra
 * fields in live (server defaults); arrays must have the same length, element by element contained.
 * Numbers and their string forms compare equal (ports, int-or-string quantities).
 */
export function isContainedIn(desired: unknown, live: unknown): boolean {
  if (desired === undefined) return true;
  if (desired === null || typeof desired !== 'object') {
    return (
      desired === live ||
      ((typeof desired === 'number' || typeof desired === 'string') &&
        (typeof live === 'number' || typeof live === 'string') &&
        String(desired) === String(live))
    );
  }
  if (live === null || typeof live !== 'object') return false;
  if (Array.isArray(desired)) {
    return (
      Array.isArray(live) &&
      live.length === desired.length &&
      desired.every((d, i) => isContainedIn(d, live[i]))
    );
  }
  const lo = live as Record<string, unknown>;
  return Object.entries(desired as Record<string, unknown>).every(([k, v]) => isContainedIn(v, lo[k]));
}

/** JSON with sorted keys: the same value always gives the same text. */
export function stableStringify(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableStringify).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${stableStringify(o[k])}`)
    .join(',')}}`;
}

export function hashOf(value: unknown): string {
  return createHash('sha256').update(stableStringify(value)).digest('hex').slice(0, 16);
}

/** A JSON merge patch turning `live` into `desired` at the top level: removed keys become null. */
export function mergePatchFor(
  live: Record<string, unknown> | undefined,
  desired: Record<string, unknown>,
): Record<string, unknown> {
  const patch: Record<string, unknown> = { ...desired };
  for (const k of Object.keys(live ?? {})) if (!(k in desired) || desired[k] === undefined) patch[k] = null;
  return patch;
}
