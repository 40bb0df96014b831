// Sticky assignment of an experiment's subjects to variants by weighted rendezvous hashing. One pure
// function shared by the operator (which plans and simulates splits) and the gateway (which assigns every
// request on its route), so both always agree on who gets which variant.

/** A 53-bit string hash (cyrb53), mapped into (0, 1): fast, well mixed, the same on every replica. */
export function hashToUnit(key: string, seed = 0): number {
  let h1 = 0xdeadbeef ^ seed;
  let h2 = 0x41c6ce57 ^ seed;
  for (let i = 0; i < key.length; i++) {
    const ch = key.charCodeAt(i);
    h1 = Math.imul(h1 ^ ch, 2654435761);
    h2 = Math.imul(h2 ^ ch, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  const bits = 4294967296 * (2097151 & h2) + (h1 >>> 0);
  return (bits + 0.5) / 9007199254740992;
}

/**
 * Sticky assignment by weighted rendezvous hashing (Schindelhauer and Schomaker 2005): every variant scores
 * the subject −w / ln(u), u = hash(experiment, subject, variant), and the highest score wins. A subject's
 * variant is chosen with probability exactly w, depends on nothing but the key and the weights, and when
 * weights change a subject moves only towards a variant whose weight rose or away from one whose weight fell
 * (raising one weight moves exactly the share it gained) — the least reshuffling a bandit's reweighting can
 * cause, so most users keep a consistent experience.
 */
export function assignVariant(
  experiment: string,
  subject: string,
  weights: Readonly<Record<string, number>>,
): string {
  let best: string | undefined;
  let bestScore = -Infinity;
  for (const [variant, w] of Object.entries(weights)) {
    if (!(w > 0)) continue;
    const score = -w / Math.log(hashToUnit(`${experiment}\u0000${subject}\u0000${variant}`));
    if (score > bestScore) {
      bestScore = score;
      best = variant;
    }
  }
  if (best === undefined) throw new Error(`experiment ${experiment} has no variant with a positive weight`);
  return best;
}
