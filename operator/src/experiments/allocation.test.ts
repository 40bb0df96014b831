import { describe, expect, it } from '@jest/globals';
import {
  applyFloor,
  assignVariant,
  fixedAllocation,
  hashToUnit,
  thompsonAllocation,
  type Weights,
} from './allocation.js';
import { seededRandom } from './simulate.js';
import type { Moments } from './sequential.js';

const normal = (n: number, mean: number, sd: number): Moments => ({
  count: n,
  sum: n * mean,
  sumSquares: (n - 1) * sd * sd + n * mean * mean,
});

function assignAll(weights: Weights, subjects = 20_000): string[] {
  return Array.from({ length: subjects }, (_, i) => assignVariant('exp-1', `user-${i}`, weights));
}

function shares(assigned: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of assigned) out[v] = (out[v] ?? 0) + 1 / assigned.length;
  return out;
}

describe('fixed splits and the floor', () => {
  it('normalises declared weights', () => {
    expect(fixedAllocation({ a: 3, b: 1 })).toEqual({ a: 0.75, b: 0.25 });
    expect(() => fixedAllocation({ a: 0, b: 0 })).toThrow('positive weight');
  });

  it('lifts starved variants to the floor and shares the rest in proportion', () => {
    const w = applyFloor({ a: 0.9, b: 0.08, c: 0.02 }, 0.1);
    expect(w.b).toBeCloseTo(0.1, 12);
    expect(w.c).toBeCloseTo(0.1, 12);
    expect(w.a).toBeCloseTo(0.8, 12);
    const kept = applyFloor({ a: 0.5, b: 0.3, c: 0.2 }, 0.1);
    expect(kept).toEqual({ a: 0.5, b: 0.3, c: 0.2 });
  });

  it('lifts a variant that falls under the floor only after another was lifted', () => {
    // 0.11 is above the floor at first, but below it once a's and b's shares shrink to pay for c.
    const w = applyFloor({ a: 0.78, b: 0.11, c: 0.11, d: 0 }, 0.12);
    for (const k of ['b', 'c', 'd']) expect(w[k]).toBeCloseTo(0.12, 12);
    expect(w.a).toBeCloseTo(0.64, 12);
  });

  it('refuses a floor the variants cannot all have', () => {
    expect(() => applyFloor({ a: 1, b: 1, c: 1 }, 0.4)).toThrow('too high');
  });
});

describe('Thompson sampling', () => {
  it('gives a clearly better arm the most traffic and the worse one the floor', () => {
    const w = thompsonAllocation({
      arms: [
        { variant: 'a', moments: normal(2000, 0.7, 0.25) },
        { variant: 'b', moments: normal(2000, 0.75, 0.25) },
      ],
      kind: 'mean',
      direction: 'higher-is-better',
      floor: 0.1,
      random: seededRandom(1),
    });
    expect(w).toEqual({ a: 0.1, b: 0.9 });
  });

  it('equals P(best) = Φ(Δ / sqrt(sa² + sb²)) for two arms, and Monte Carlo agrees for three', () => {
    // Δ = 0.01, sa = sb = 0.25/√2000: z = 0.01 / 0.00790569 = 1.2649, Φ(z) = 0.89704
    const arms = [
      { variant: 'a', moments: normal(2000, 0.7, 0.25) },
      { variant: 'b', moments: normal(2000, 0.71, 0.25) },
    ];
    const two = thompsonAllocation({
      arms,
      kind: 'mean',
      direction: 'higher-is-better',
      floor: 0,
      random: seededRandom(2),
    });
    expect(two.b).toBeCloseTo(0.89704, 4);
    const three = thompsonAllocation({
      arms: [...arms, { variant: 'c', moments: normal(2000, 0.5, 0.25) }],
      kind: 'mean',
      direction: 'higher-is-better',
      floor: 0,
      random: seededRandom(3),
      draws: 20_000,
    });
    expect(three.b).toBeCloseTo(0.897, 1);
    expect(three.c).toBe(0);
  });

  it('prefers the lower mean for a lower-is-better metric', () => {
    const w = thompsonAllocation({
      arms: [
        { variant: 'a', moments: normal(500, 900, 300) },
        { variant: 'b', moments: normal(500, 1100, 300) },
        { variant: 'c', moments: normal(500, 1000, 300) },
      ],
      kind: 'mean',
      direction: 'lower-is-better',
      floor: 0.05,
      random: seededRandom(4),
    });
    expect(w.a).toBeGreaterThan(0.85);
    expect(w.b).toBeCloseTo(0.05, 12);
  });

  it('splits evenly until every arm has two observations', () => {
    const w = thompsonAllocation({
      arms: [
        { variant: 'a', moments: normal(1000, 0.2, 0.1) },
        { variant: 'b', moments: { count: 1, sum: 1, sumSquares: 1 } },
      ],
      kind: 'mean',
      direction: 'higher-is-better',
      floor: 0.1,
      random: seededRandom(5),
    });
    expect(w).toEqual({ a: 0.5, b: 0.5 });
  });
});

describe('sticky assignment', () => {
  it('gives a subject the same variant every time and on every replica', () => {
    const w = { a: 0.5, b: 0.5 };
    expect(assignVariant('exp-1', 'key-42', w)).toBe(assignVariant('exp-1', 'key-42', { ...w }));
    expect(hashToUnit('key-42')).toBe(hashToUnit('key-42'));
    expect(hashToUnit('key-42')).not.toBe(hashToUnit('key-43'));
  });

  it('assigns subjects in the declared proportions', () => {
    const s = shares(assignAll({ a: 0.6, b: 0.3, c: 0.1 }));
    // 20,000 subjects: a binomial share's standard deviation is at most 0.0035.
    expect(Math.abs((s.a ?? 0) - 0.6)).toBeLessThan(0.0125);
    expect(Math.abs((s.b ?? 0) - 0.3)).toBeLessThan(0.0125);
    expect(Math.abs((s.c ?? 0) - 0.1)).toBeLessThan(0.0125);
  });

  it('moves only the share a variant gained when its weight rises, and only towards it', () => {
    const before = assignAll({ a: 0.5, b: 0.5 });
    const after = assignAll({ a: 0.6, b: 0.4 });
    const moved = before.filter((v, i) => v !== after[i]);
    expect(moved.every((v) => v === 'b')).toBe(true);
    expect(Math.abs(moved.length / before.length - 0.1)).toBeLessThan(0.0125);
  });

  it('moves subjects only away from a variant whose weight falls, among three', () => {
    const before = assignAll({ a: 0.4, b: 0.4, c: 0.2 });
    const after = assignAll({ a: 0.4, b: 0.2, c: 0.2 });
    const changed = before.map((v, i) => [v, after[i]] as const).filter(([x, y]) => x !== y);
    expect(changed.every(([from]) => from === 'b')).toBe(true);
    // b's share falls from 0.4 to 0.2 / 0.8 = 0.25 (weights are relative): exactly that 0.15 moves.
    expect(Math.abs(changed.length / before.length - 0.15)).toBeLessThan(0.0125);
  });

  it('never assigns a variant with zero weight', () => {
    expect(assignAll({ a: 1, b: 0 }, 2000).every((v) => v === 'a')).toBe(true);
    expect(() => assignVariant('exp-1', 'u', { a: 0 })).toThrow('no variant with a positive weight');
  });
});
