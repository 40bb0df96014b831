// The request path computes the prompt features without strings or regexes (lower-cased code units in a
// typed array, tokens and trigrams hashed as the characters go by, the cue regexes replaced by one pass and a
// look around the few characters they need) and scores them as it computes them. The models were trained on
// the plain implementation kept here as the reference: the features, the router's p(weak) and the domain
// probabilities must be those of the reference to the bit, on the labelled prompts and on text made to hit
// the edge cases (non-ASCII lower-casing, line terminators, the limits on the text read).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  bundledDomainModel,
  domainProbabilities,
  loadDomainModel,
  type DomainModel,
} from './domain-model.js';
import { parseDomainRows } from './domain-train.js';
import { parseRows } from './router-data.js';
import {
  bundledRouterModel,
  loadRouterModel,
  ROUTER_MODEL_KIND,
  weakSuffices,
  type RouterModel,
} from './router-model.js';
import {
  collectFeatures,
  featureBuckets,
  featureSet,
  featureValues,
  FEATURE_FAMILIES,
  type FeatureFamily,
  type FeatureSet,
} from './router-features.js';
import { seededRandom } from './seeded-random.js';

// ---- The reference: the features as first written (strings, regexes), with arrays that grow. ----

function refHash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

function refCues(text: string, words: number): [string, number][] {
  let digits = 0;
  let lines = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 10) lines++;
  }
  return [
    ['cue:bias', 1],
    ['cue:length', Math.min(1, text.length / 2000)],
    ['cue:words', Math.min(1, words / 400)],
    ['cue:digits', Math.min(1, (digits / Math.max(1, text.length)) * 10)],
    ['cue:formula', /[=+\-*/^]\s*\d|\d\s*[=+*/^]|\\frac|\\sqrt|\$/.test(text) ? 1 : 0],
    ['cue:code', /```|\bdef\b|\bfunction\b|;\s*$|\{\s*$/m.test(text) ? 1 : 0],
    ['cue:options', /^\s*[a-d][.)]\s/m.test(text) ? 1 : 0],
    ['cue:question', text.includes('?') ? 1 : 0],
    ['cue:lines', Math.min(1, lines / 30)],
  ];
}

/** The features in collectFeatures' order: tokens (word, then bigram), trigrams, cues. */
function refFeatures(prompt: string, mask: number, f: FeatureSet, maxChars = 2000): [number[], number[]] {
  const limit = Math.min(maxChars, 2000);
  const text = (prompt.length > limit ? prompt.slice(0, limit) : prompt).toLowerCase();
  const tokens = text.match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
  const buckets: number[] = [];
  const values: number[] = [];
  const add = (b: number, v: number) => {
    buckets.push(b);
    values.push(v);
  };
  const wordScale = 1 / Math.sqrt(Math.max(1, tokens.length));
  tokens.forEach((w, k) => {
    if (f.words) add(refHash(w, 1) & mask, wordScale);
    if (f.bigrams && k > 0) add(refHash(`${tokens[k - 1]} ${w}`, 2) & mask, wordScale);
  });
  if (f.trigrams) {
    const gramScale = 1 / Math.sqrt(Math.max(1, text.length - 2));
    for (let i = 0; i + 3 <= text.length; i++) add(refHash(text.slice(i, i + 3), 3) & mask, gramScale);
  }
  if (f.cues)
    for (const [name, v] of refCues(text, tokens.length)) if (v !== 0) add(refHash(name, 4) & mask, v);
  return [buckets, values];
}

const refWeakSuffices = (model: RouterModel, prompt: string): number => {
  const [buckets, values] = refFeatures(prompt, model.mask, model.families);
  let z = model.bias;
  buckets.forEach((b, k) => (z += (model.weights[b] as number) * (values[k] as number)));
  return 1 / (1 + Math.exp(-z));
};

function refDomainProbabilities(model: DomainModel, prompt: string): Float64Array {
  const k = model.domains.length;
  const z = Float64Array.from(model.bias);
  const [buckets, values] = refFeatures(prompt, model.mask, model.families, model.maxChars);
  buckets.forEach((b, f) => {
    for (let d = 0; d < k; d++)
      z[d] = (z[d] as number) + (model.weights[b * k + d] as number) * (values[f] as number);
  });
  let max = -Infinity;
  for (const v of z) max = Math.max(max, v);
  let sum = 0;
  for (let d = 0; d < k; d++) {
    z[d] = Math.exp((z[d] as number) - max);
    sum += z[d] as number;
  }
  for (let d = 0; d < k; d++) z[d] = (z[d] as number) / sum;
  return z;
}

// ---- The prompts. ----

const dir = join(process.cwd(), 'gateway', 'src', 'routing', 'domains');
const labelled = ['train.jsonl', 'test.jsonl'].flatMap((file) =>
  parseDomainRows(readFileSync(join(dir, file), 'utf8')).map((r) => r.prompt),
);
// The router's data set where it is checked out beside the repository: long prompts (MMLU law) among them.
const DATA = join(process.cwd(), '..', 'shared', 'data', 'routing', 'routellm-train.jsonl');
const routed = existsSync(DATA)
  ? parseRows(readFileSync(DATA, 'utf8'))
      .filter((_, i) => i % 40 === 0)
      .map((r) => r.prompt)
  : [];

const at = (n: number, tail: string) => 'x'.repeat(n - tail.length) + tail;
const edges = [
  '',
  'a',
  'ab',
  'abc',
  'ABC',
  'İ',
  'İİ',
  'İstanbul İZMİR',
  'Σ',
  'ΟΔΟΣ ΟΔΟΣ. ΑΣ',
  '\u212a kelvin', // lower-cases to ASCII 'k'
  'ß ǅ Ǆ ﬀ',
  'lone \ud800 and \udc00 surrogates, 🙂 and 𝔘',
  'Pick one:\nA. yes\nB. no',
  'A) one\r\nB) two\u2028C. three\u2029D) four',
  '  a. leading spaces, then  \n\t b) tabs',
  'a.b c)d a.\nd.',
  'e. not an option\nb.x\nb.',
  'x = 3, 3 =, - 4, 4 -, 4 - 5, 2 ^ 3, 2/3, 2\u00a0*\u30004, a+b',
  '$ \\frac{1}{2} \\FRAC \\sqrt \\sqr',
  '```py\ndef f():\n  return 1\n```',
  'DEF x, _def, def_, undef, define, def',
  'Function() function_ functions myfunction function',
  'int x = 1;\nwhile (1) {\n}',
  'a;   ',
  'a; b',
  'a {\u2028b',
  'a {\ufeff',
  'what? why?',
  '1\n2\n3\n'.repeat(20),
  // At the limits of the text read: the domain classifier's 600 characters, the router's 2000.
  at(599, 'İ'),
  at(600, 'İ'),
  at(601, ' İ'),
  at(600, 'A. x'),
  at(1999, 'İ'),
  at(2000, 'İ'),
  at(2001, 'Σ'),
  at(2000, ';'),
  at(2002, '\nd) no'),
  'İ'.repeat(700),
  'İ'.repeat(2000),
  'aB1 '.repeat(700),
];

// Text from pieces the cue regexes and the tokenizer care about.
const PIECES = [
  ...'abcdefinotqrsxyzAD019_=+-*/^$\\`;{}.)(?,:\'"',
  ' ',
  '  ',
  '\t',
  '\n',
  '\r',
  '\r\n',
  '\u000b',
  '\u00a0',
  '\u2003',
  '\u2028',
  '\u2029',
  '\u3000',
  '\ufeff',
  'İ',
  'Σ',
  '\u212a',
  'é',
  'ß',
  '🙂',
  'def',
  'function',
  '\\frac',
  '\\sqrt',
  '```',
  'a. ',
  'B) ',
  'c.\n',
  '3 = 4',
];
function fuzzed(n: number, seed: number): string[] {
  const random = seededRandom(seed);
  return Array.from({ length: n }, () => {
    let s = '';
    const pieces = Math.floor(random() * 60);
    for (let k = 0; k < pieces; k++) s += PIECES[Math.floor(random() * PIECES.length)];
    return s;
  });
}

const prompts = [...labelled, ...routed, ...edges, ...fuzzed(1500, 7)];

// Every combination of feature families, at the limits the models use and some others.
const familySets: FeatureFamily[][] = [
  [...FEATURE_FAMILIES],
  ['words', 'trigrams'],
  ['trigrams', 'cues'],
  ['cues'],
];
const limits = [undefined, 600, 16, 3000];

function collected(prompt: string, mask: number, f: FeatureSet, maxChars?: number): [number[], number[]] {
  const n = collectFeatures(prompt, mask, f, maxChars);
  return [Array.from(featureBuckets.subarray(0, n)), Array.from(featureValues.subarray(0, n))];
}

describe('the request-path features are the reference features', () => {
  test('lower-casing lengthens a code unit to at most two, so the text read fits its buffers', () => {
    const longer: number[] = [];
    for (let c = 0; c <= 0x10ffff; c++) {
      const s = String.fromCodePoint(c);
      if (s.toLowerCase().length > 2 * s.length) longer.push(c);
    }
    expect(longer).toEqual([]);
  });

  test.each(familySets.map((families) => [families.join('+'), families] as const))(
    'the same features in the same order, families %s',
    (_name, families) => {
      const f = featureSet(families);
      let compared = 0;
      for (const prompt of prompts)
        for (const maxChars of limits) {
          const mask = maxChars === 600 ? 8191 : 16383;
          const [buckets, values] = collected(prompt, mask, f, maxChars);
          const [refBuckets, refValues] = refFeatures(prompt, mask, f, maxChars);
          // One comparison per prompt, not per feature: a mismatch names the prompt.
          if (buckets.join() !== refBuckets.join() || !values.every((v, k) => Object.is(v, refValues[k])))
            expect({ prompt, maxChars, buckets, values }).toEqual({
              prompt,
              maxChars,
              buckets: refBuckets,
              values: refValues,
            });
          compared++;
        }
      expect(compared).toBe(prompts.length * limits.length);
    },
    60_000,
  );

  test('the cues fire as the regexes do on the fuzzed text, each of them both ways', () => {
    const f = featureSet(['cues']);
    const fired = new Map<number, Set<boolean>>();
    for (const prompt of fuzzed(2000, 11)) {
      const [refBuckets] = refFeatures(prompt, (1 << 20) - 1, f);
      for (const b of [...fired.keys(), ...refBuckets]) {
        const seen = fired.get(b) ?? new Set<boolean>();
        seen.add(refBuckets.includes(b));
        fired.set(b, seen);
      }
    }
    // All nine cues (bias, length, words, digits, formula, code, options, question, lines) come up, and all
    // but the bias are also absent somewhere: the fuzzed text exercises every branch of the scan.
    expect(fired.size).toBe(9);
    expect([...fired.values()].filter((s) => s.size === 2).length).toBe(8);
  });

  test("the router's p(weak) is the reference's to the bit", () => {
    const random = seededRandom(3);
    const allFamilies = loadRouterModel({
      kind: ROUTER_MODEL_KIND,
      version: 'test',
      buckets: 4096,
      families: [...FEATURE_FAMILIES],
      bias: 0.3,
      weights: Array.from({ length: 1500 }, (_, i) => [(i * 2731) % 4096, random() * 4 - 2]),
      calibration: [{ quality: 1, threshold: 0.5 }],
    });
    for (const model of [bundledRouterModel(), allFamilies])
      for (const prompt of prompts) {
        const p = weakSuffices(model, prompt);
        if (!Object.is(p, refWeakSuffices(model, prompt)))
          expect({ prompt, p }).toEqual({ prompt, p: refWeakSuffices(model, prompt) });
      }
  });

  test("the domain probabilities are the reference's to the bit, 11 domains or not", () => {
    const random = seededRandom(5);
    const three = loadDomainModel({
      kind: 'beastmode.dev/domain-classifier',
      version: 'test',
      buckets: 256,
      families: ['words', 'bigrams', 'cues'],
      domains: ['code', 'math', 'law'],
      bias: [0.1, -0.2, 0.05],
      weights: Buffer.from(Array.from({ length: 256 * 3 }, () => Math.floor(random() * 256))).toString(
        'base64',
      ),
      scale: 0.01,
      maxChars: 300,
      minConfidence: 0.4,
    });
    for (const model of [bundledDomainModel(), three])
      for (const prompt of prompts) {
        const p = Array.from(domainProbabilities(model, prompt));
        const ref = Array.from(refDomainProbabilities(model, prompt));
        if (!p.every((v, d) => Object.is(v, ref[d]))) expect({ prompt, p }).toEqual({ prompt, p: ref });
      }
  });
});
