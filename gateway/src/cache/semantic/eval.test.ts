import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_SEMANTIC_THRESHOLD, evaluatePairs, parsePairs, type Pair } from './eval.js';

const X = 'Paint the garden fence green before the rain';
const Y = 'Paint the garden fence green before the rain arrives';

describe('evaluatePairs', () => {
  const base = { seed: 1, thresholds: [0.5], guard: true };

  test('a paraphrase of an inserted origin hits it; the guard refuses a changed number', () => {
    const pairs: Pair[] = [
      { origin: 'How do I bake sourdough bread at home?', similar: 'How do I bake sourdough bread at home?' },
      { origin: 'Which planets have rings around them?', similar: 'Which planets have rings?' },
      { origin: 'Set the retry limit to 3 attempts', similar: 'Set the retry limit to 5 attempts' },
    ];
    const guarded = evaluatePairs(pairs, { ...base, insertFraction: 1 });
    expect(guarded).toMatchObject({ pairs: 3, inserted: 3, hitQueries: 3, missQueries: 0 });
    expect(guarded.thresholds[0]).toMatchObject({
      threshold: 0.5,
      correct: 0.6667,
      misdirected: 0,
      wrong: 0,
    });
    const unguarded = evaluatePairs(pairs, { ...base, insertFraction: 1, guard: false });
    expect(unguarded.thresholds[0]).toMatchObject({ correct: 1, misdirected: 0, wrong: 0 });
    const t = guarded.thresholds[0]!;
    expect(t.lookupP50Ms).toBeGreaterThanOrEqual(0);
    expect(t.lookupP99Ms).toBeGreaterThanOrEqual(t.lookupP50Ms);
  });

  test('another origin returned is misdirected; any hit for a non-inserted origin is wrong', () => {
    const pairs: Pair[] = [
      { origin: X, similar: X },
      { origin: Y, similar: X },
    ];
    const all = evaluatePairs(pairs, { ...base, insertFraction: 1 });
    expect(all.thresholds[0]).toMatchObject({ correct: 0.5, misdirected: 0.5, wrong: 0 });
    // Whichever of the two is inserted, one query hits its own origin and the other hits a stranger.
    for (const seed of [1, 2, 3]) {
      const half = evaluatePairs(pairs, { ...base, seed, insertFraction: 0.5 });
      expect(half).toMatchObject({ inserted: 1, hitQueries: 1, missQueries: 1 });
      expect(half.thresholds[0]).toMatchObject({ correct: 1, misdirected: 0, wrong: 1 });
    }
    const none = evaluatePairs(pairs, { ...base, insertFraction: 0, thresholds: [0.5, 0.9] });
    expect(none.thresholds.map((r) => r.wrong)).toEqual([0, 0]);
    expect(() => evaluatePairs(pairs, { ...base, insertFraction: 2 })).toThrow(/insertFraction/);
  });

  test('a threshold above every score misses everything', () => {
    const r = evaluatePairs([{ origin: X, similar: 'Why is the sky blue?' }], { ...base, insertFraction: 1 });
    expect(r.thresholds[0]).toMatchObject({ correct: 0, misdirected: 0, wrong: 0 });
  });
});

describe('parsePairs', () => {
  test('accepts an array of {origin, similar} and drops other fields', () => {
    expect(parsePairs([{ origin: 'a', similar: 'b', id: 1 }])).toEqual([{ origin: 'a', similar: 'b' }]);
  });

  test.each([
    [{ origin: 'a', similar: 'b' }, /JSON array/],
    [[{ origin: 'a' }], /pairs\[0\].*strings/],
    [[{ origin: 'a', similar: 'b' }, 'x'], /pairs\[1\].*object/],
    [[null], /pairs\[0\]/],
  ])('refuses %j', (json, message) => {
    expect(() => parsePairs(json)).toThrow(message);
  });
});

// The bars reached on the GPTCache paraphrase pairs (see the package's report); skipped where the data set
// is not checked out beside the repository.
const DATA = join(process.cwd(), '..', 'shared', 'data', 'semantic-cache', 'gptcache-paraphrase-pairs.json');
(existsSync(DATA) ? test : test.skip)(
  'on the GPTCache pairs: trustworthy at the default threshold, and better than GPTCache at its own protocol',
  () => {
    const pairs = parsePairs(JSON.parse(readFileSync(DATA, 'utf8')));
    const half = evaluatePairs(pairs, {
      insertFraction: 0.5,
      seed: 1,
      thresholds: [DEFAULT_SEMANTIC_THRESHOLD],
      guard: true,
    });
    expect(half.thresholds[0]!.wrong).toBeLessThanOrEqual(0.01);
    expect(half.thresholds[0]!.correct).toBeGreaterThanOrEqual(0.17);
    // GPTCache's protocol: every origin inserted, a hit on another origin counted wrong (80.4% / 7.7% at 0.9).
    const all = evaluatePairs(pairs, { insertFraction: 1, seed: 1, thresholds: [0.55], guard: false });
    expect(all.thresholds[0]!.correct).toBeGreaterThan(0.804);
    expect(all.thresholds[0]!.misdirected).toBeLessThan(0.077);
  },
  60_000,
);
