// Property tests of the router's prompt features on any text (lone surrogates, characters whose lower case
// is longer, huge prompts): no throw, buckets within the mask, each family's values of unit length, only the
// first 2000 characters read, no state carried from one prompt to the next, the streaming score equal to the
// collected features' to the bit, and the cues as their regexes say. The prompts of
// fuzz/corpus/request-body are replayed first.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anyString, hugeString } from '../../../fuzz/arbitraries.js';
import { corpus, fuzzParams, FUZZ_TIMEOUT_MS } from '../../../fuzz/harness.js';
import { promptText } from '../server/attempt-plan.js';
import { jsonObject } from '../server/request-body.js';
import {
  collectFeatures,
  featureBuckets,
  featureScore,
  featureSet,
  featureValues,
  FEATURE_FAMILIES,
  type FeatureFamily,
} from './router-features.js';

const MAX_CHARS = 2000;
const ALL = featureSet(FEATURE_FAMILIES);

/** FNV-1a as the module hashes its names. */
function fnv(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function features(prompt: string, mask: number, families = ALL): { buckets: number[]; values: number[] } {
  const n = collectFeatures(prompt, mask, families);
  return { buckets: [...featureBuckets.subarray(0, n)], values: [...featureValues.subarray(0, n)] };
}

const prompts: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: anyString(300) },
  { weight: 1, arbitrary: hugeString },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 3000 }).map((n) => '\u0130'.repeat(n)) },
);

const masks = fc.integer({ min: 4, max: 22 }).map((bits) => 2 ** bits - 1);

/** Each family's own feature count: the number of values of that family's scale, summing to one squared. */
function checkPrompt(prompt: string, mask: number): void {
  const { buckets, values } = features(prompt, mask);
  assert.ok(
    buckets.every((b) => b >= 0 && b <= mask),
    `a bucket outside mask ${mask}`,
  );
  assert.ok(
    values.every((v) => Number.isFinite(v) && v > 0 && v <= 1),
    'a value outside (0, 1]',
  );
  for (const family of ['words', 'trigrams'] as FeatureFamily[]) {
    const only = features(prompt, mask, featureSet([family]));
    if (only.values.length === 0) continue;
    const norm = only.values.reduce((s, v) => s + v * v, 0);
    assert.ok(Math.abs(norm - 1) < 1e-9, `${family} has length ${norm}`);
  }
  // Only the first MAX_CHARS characters are read.
  if (prompt.length > MAX_CHARS)
    assert.deepStrictEqual(features(prompt.slice(0, MAX_CHARS), mask), { buckets, values });
}

describe('router features (corpus)', () => {
  test.each(corpus('request-body').map((f) => [f.name, f] as const))('%s', (_name, f) => {
    const body = jsonObject(f.bytes);
    if (body !== undefined) checkPrompt(promptText(body), 0xffff);
  });
});

describe('router features (properties)', () => {
  test(
    'any text: buckets within the mask, unit-length families, the first 2000 characters read',
    () => {
      fc.assert(
        fc.property(prompts, masks, (prompt, mask) => checkPrompt(prompt, mask)),
        fuzzParams(150),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'a prompt has the same features whatever was scanned before it',
    () => {
      fc.assert(
        fc.property(prompts, prompts, masks, (p, q, mask) => {
          const before = features(p, mask);
          features(q, mask);
          assert.deepStrictEqual(features(p, mask), before);
        }),
        fuzzParams(100),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "featureScore is the collected features' score to the bit",
    () => {
      const model = fc.record({
        families: fc.subarray([...FEATURE_FAMILIES], { minLength: 1 }).map(featureSet),
        bits: fc.integer({ min: 4, max: 14 }),
        bias: fc.double({ min: -5, max: 5, noNaN: true }),
        seed: fc.integer(),
      });
      fc.assert(
        fc.property(prompts, model, (prompt, m) => {
          const mask = 2 ** m.bits - 1;
          const weights = new Float32Array(mask + 1);
          for (let i = 0; i <= mask; i++) weights[i] = Math.sin(m.seed + i);
          const n = collectFeatures(prompt, mask, m.families);
          let z = m.bias;
          for (let k = 0; k < n; k++)
            z += (weights[featureBuckets[k] as number] as number) * (featureValues[k] as number);
          assert.equal(featureScore({ families: m.families, mask, weights, bias: m.bias }, prompt), z);
        }),
        fuzzParams(100),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'the formula, code, options and question cues fire exactly when their regexes match',
    () => {
      const MASK = 0x7fffffff;
      const bucketOf = (name: string) => fnv(`cue:${name}`, 4) & MASK;
      const cues: [string, RegExp][] = [
        ['formula', /[=+\-*/^]\s*\d|\d\s*[=+*/^]|\\frac|\\sqrt|\$/],
        ['code', /```|\bdef\b|\bfunction\b|;\s*$|\{\s*$/m],
        ['options', /^\s*[a-d][.)]\s/m],
        ['question', /\?/],
      ];
      assert.equal(new Set(cues.map(([name]) => bucketOf(name))).size, cues.length);
      // Text made of the pieces the cues look for, so that each fires often and often not.
      const piece = fc.constantFrom(
        ...['def', 'function', '```', ';', '{', '}', '=', '+', '-', '*', '/', '^', '$', '\\frac', '\\sqrt'],
        ...['a', 'b', 'D', 'e', '.', ')', '?', '1', '9', '_', 'x', ' ', '\t', '\n', '\r', '\u2028', '\u00a0'],
        ...['\u0130', '\u212a', 'DEF', 'Function'],
      );
      fc.assert(
        fc.property(
          fc.array(piece, { maxLength: 40 }).map((parts) => parts.join('')),
          (prompt) => {
            const { buckets } = features(prompt, MASK, featureSet(['cues']));
            const lower = prompt.toLowerCase();
            for (const [name, regex] of cues)
              assert.equal(
                buckets.includes(bucketOf(name)),
                regex.test(lower),
                `cue ${name} on ${JSON.stringify(prompt)}`,
              );
          },
        ),
        fuzzParams(1000),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
