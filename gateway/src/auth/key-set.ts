// An immutable set of API keys held only as SHA-256 digests.
//
// Why the lookup does not leak the key through timing: the presented key is hashed first, and only its
// digest is looked up (a Map keyed by the hex digest). A string comparison inside the Map can at most
// reveal how much of SHA-256(presented) matches a stored digest — and an attacker cannot steer a digest
// byte by byte (changing one character of the guess changes the whole digest), so the classic
// prefix-by-prefix attack on `a === b` has nothing to climb. The hit is then confirmed with
// crypto.timingSafeEqual on the two 32-byte digests, so no early-exit comparison ever touches key material.
//
// A set also remembers, by digest, the names of keys that earlier sets of this process held and it does
// not (revoked ones): a revoked key still in use is worth an alert of its own, under the key's name — a
// bounded label, unlike the presented secret. The memory is bounded (REVOKED_MEMORY) and ends with the
// process.
import { timingSafeEqual } from 'node:crypto';
import type { Caller } from '../policy/types.js';
import { sha256, type HashedKey } from './keys-file.js';

/** How many revoked keys a set remembers (the most recently revoked). */
export const REVOKED_MEMORY = 1000;

export class ApiKeySet {
  private readonly byDigest = new Map<string, HashedKey>();
  /** Hex digest → key name, oldest revocation first. */
  private readonly revoked: Map<string, string>;

  constructor(keys: readonly HashedKey[], revoked: ReadonlyMap<string, string> = new Map()) {
    for (const k of keys) this.byDigest.set(k.digest.toString('hex'), k);
    this.revoked = new Map([...revoked].filter(([hex]) => !this.byDigest.has(hex)));
  }

  /** The set of `keys`, remembering as revoked the keys this set (or those before it) held and it lacks. */
  succeededBy(keys: readonly HashedKey[]): ApiKeySet {
    const kept = new Set(keys.map((k) => k.digest.toString('hex')));
    const revoked = new Map([...this.revoked].filter(([hex]) => !kept.has(hex)));
    for (const [hex, k] of this.byDigest) if (!kept.has(hex)) revoked.set(hex, k.caller.key);
    // Pruned after the kept keys are left out: a large set rotating one key still remembers that one.
    const excess = revoked.size - REVOKED_MEMORY;
    if (excess > 0) for (const hex of [...revoked.keys()].slice(0, excess)) revoked.delete(hex);
    return new ApiKeySet(keys, revoked);
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The caller a presented key belongs to, or undefined. */
  verify(presented: string): Caller | undefined {
    const digest = sha256(presented);
    const hit = this.byDigest.get(digest.toString('hex'));
    if (hit === undefined) return undefined;
    return timingSafeEqual(digest, hit.digest) ? hit.caller : undefined;
  }

  /** The name of the revoked key `presented` is, if it is one (asked only after verify refused it). */
  revokedName(presented: string): string | undefined {
    return this.revoked.get(sha256(presented).toString('hex'));
  }
}
