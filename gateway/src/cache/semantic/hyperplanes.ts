// Random-hyperplane hashing (SimHash) of dense unit vectors, for the semantic index's large partitions of an
// embeddings server's vectors: each of TABLES tables signs the vector against BITS random hyperplanes, and
// two vectors at angle θ share a table's bucket with probability (1 − θ/π)^BITS. At the similarities that
// hit (cosine ≥ 0.9, θ ≤ 0.45) that is ≥ 0.18 a table and ≥ 0.96 over the tables; at the similarity of
// unrelated prompts (cosine ~0.1) 0.0005 a table: a query's buckets hold its neighbours and few others.
// Unlike a graph index nothing is rebuilt when entries go: a bucket is a list, as the word postings are.
import { seededRandom } from '../../routing/seeded-random.js';

export const TABLES = 16;
export const BITS = 12;

/** The hyperplanes for vectors of `dimensions`, the same in every replica (seeded). */
const planesByDimensions = new Map<number, Float32Array>();

function planes(dimensions: number): Float32Array {
  let p = planesByDimensions.get(dimensions);
  if (p !== undefined) return p;
  const random = seededRandom(0x5eed ^ dimensions);
  p = new Float32Array(TABLES * BITS * dimensions);
  // Gaussian components (Box–Muller): the hyperplanes' normals are uniform on the sphere.
  for (let i = 0; i < p.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const a = 2 * Math.PI * random();
    p[i] = r * Math.cos(a);
    if (i + 1 < p.length) p[i + 1] = r * Math.sin(a);
  }
  planesByDimensions.set(dimensions, p);
  return p;
}

/** The vector's bucket in each table, as keys distinct across tables (table × 2^BITS + signs). */
export function bucketsOf(vector: Float32Array): number[] {
  const d = vector.length;
  const p = planes(d);
  const out: number[] = new Array<number>(TABLES);
  for (let t = 0; t < TABLES; t++) {
    let signs = 0;
    for (let b = 0; b < BITS; b++) {
      const at = (t * BITS + b) * d;
      let s = 0;
      for (let i = 0; i < d; i++) s += p[at + i]! * vector[i]!;
      if (s >= 0) signs |= 1 << b;
    }
    out[t] = t * (1 << BITS) + signs;
  }
  return out;
}
