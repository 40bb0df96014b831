// An immutable set of API keys held only as SHA-256 digests.
//
// Why the lookup does not leak the key through timing: the presented key is hashed first, and only its
// digest is looked up (a Map keyed by the hex digest). A string comparison inside the Map can at most
// reveal how much of SHA-256(presented) matches a stored digest — and an attacker cannot steer a digest
// byte by byte (changing one character of the guess changes the whole digest), so the classic
// prefix-by-prefix attack on `a === b` has nothing to climb. The hit is then confirmed with
// crypto.timingSafeEqual on the two 32-byte digests, so no early-exit comparison ever touches key material.
import { timingSafeEqual } from 'node:crypto';
import type { Caller } from '../policy/types.js';
import { sha256, type HashedKey } from './keys-file.js';

export class ApiKeySet {
  private readonly byDigest = new Map<string, HashedKey>();

  constructor(keys: readonly HashedKey[]) {
    for (const k of keys) this.byDigest.set(k.digest.toString('hex'), k);
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
}
