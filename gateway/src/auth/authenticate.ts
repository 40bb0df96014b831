// Turns request headers into a Caller: `Authorization: Bearer <key>` or `x-api-key: <key>`. Without auth
// configured every request is the anonymous caller; with auth configured a missing or unknown key is a
// 401, never anonymous.
import { modelNotAllowed, unauthenticated, type GatewayError } from '../server/errors.js';
import { ANONYMOUS, type Caller } from '../policy/types.js';
import type { ApiKeySet } from './key-set.js';

export type Headers = Record<string, string | string[] | undefined>;

/**
 * Why a request was refused a caller: no key; a credential header in a form the gateway cannot read; a key
 * no set of this process ever held; a key an earlier keys file held (revoked).
 */
export const AUTH_FAILURE_REASONS = ['missing', 'malformed', 'unknown', 'revoked'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

export type AuthResult =
  | { ok: true; caller: Caller }
  | {
      ok: false;
      refusal: GatewayError;
      reason: AuthFailureReason;
      /** The revoked key's name (from the keys file, never the presented key). */
      revokedKey?: string;
    };

/** The answer for every request while auth is off: one shared object, nothing allocated per request. */
const ANONYMOUS_RESULT: AuthResult = Object.freeze({ ok: true, caller: ANONYMOUS });

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The key presented in the headers, if any. */
export function presentedKey(headers: Headers): string | undefined {
  const auth = header(headers, 'authorization');
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m?.[1] !== undefined) return m[1];
  }
  const apiKey = header(headers, 'x-api-key')?.trim();
  return apiKey === '' ? undefined : apiKey;
}

/** `keys` undefined = auth not configured. */
export function authenticate(headers: Headers, keys: ApiKeySet | undefined): AuthResult {
  if (keys === undefined) return ANONYMOUS_RESULT;
  const presented = presentedKey(headers);
  if (presented === undefined) {
    // A credential header was sent but could not be read (e.g. "Authorization: Basic …"): malformed.
    const sent = header(headers, 'authorization') !== undefined || header(headers, 'x-api-key') !== undefined;
    return {
      ok: false,
      reason: sent ? 'malformed' : 'missing',
      refusal: unauthenticated(
        'You didn\'t provide an API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>"',
      ),
    };
  }
  const caller = keys.verify(presented);
  if (caller !== undefined) return { ok: true, caller };
  // The same answer for a revoked key as for an unknown one: only the metrics tell them apart.
  const refusal = unauthenticated('Incorrect API key provided');
  const revokedKey = keys.revokedName(presented);
  return revokedKey === undefined
    ? { ok: false, refusal, reason: 'unknown' }
    : { ok: false, refusal, reason: 'revoked', revokedKey };
}

/** A 403 when the caller's key is scoped to other models. */
export function authorizeModel(caller: Caller, model: string): GatewayError | undefined {
  if (caller.models === undefined || caller.models.includes(model)) return undefined;
  return modelNotAllowed(caller.key, model);
}
