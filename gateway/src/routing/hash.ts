// Stable, fast string hashing for sticky assignment. FNV-1a (32 bit) is enough: the inputs are not
// adversarial secrets, only identities that must land in the same bucket on every replica and restart.

/** A 32-bit FNV-1a hash of a string's UTF-16 code units, as an unsigned integer. */
export function hashString(value: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    h ^= value.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  // A final avalanche step so that near-identical identities ("u1", "u2") spread over all buckets.
  return avalanche(h);
}

/** MurmurHash3's 32-bit finaliser: every input bit flips each output bit with probability about 1/2. */
export function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The bucket 0–9999 of an identity on a route: the basis of canary and weighted stickiness. */
export function bucketOf(identity: string, salt: string): number {
  return hashString(`${identity}\u0000${salt}`) % 10_000;
}
