// The semantic cache's built-in embedder: turns a prompt into a unit-length vector so that the cosine of two
// prompts is a dot product, with no model to download and no I/O. It is lexical: paraphrases share content
// words, their stems and their character n-grams (which also catch morphology a light stemmer misses:
// "generation" / "generate"), while different questions differ in the words that carry their meaning.
// Features, each hashed with a sign into SEMANTIC_DIMS buckets (the "hashing trick"):
//   - words: lower-cased, Unicode letters and digits, light suffix stripping (plurals, -ing, -ed, -ly),
//     contractions split ("doesn't" → "does" "not"); a small stopword list is kept but down-weighted;
//   - character 3–5-grams of every content word, with word boundaries, sharing one word's weight;
//   - identifiers and code (`backticked`, snake_case, dotted.names, calls(), camelCase) whole and weighted up,
//     beside their parts as words;
//   - numbers as whole tokens ("2.10.0"), weighted up: a different number is a different question.
// Term weights are sublinear (1 + ln tf) so a repeated word does not drown the rest.
// Deterministic: the same text gives the same vector on every replica and restart.
import { avalanche } from '../../routing/hash.js';

/** Dimensions of every vector embedText returns (a power of two: buckets are a bit mask). */
export const SEMANTIC_DIMS = 1024;

export interface EmbedOptions {
  dims: number;
  /** Weight of a content word's own feature. */
  word: number;
  /** Total weight of a word's character n-grams (shared among them). */
  grams: number;
  /** Weight of a stopword (its n-grams are not used). */
  stopword: number;
  /** Weight of an identifier or code token kept whole. */
  code: number;
  /** Weight of a number token. */
  number: number;
  /** Weight of a pair of neighbouring content words (0: off). */
  bigram: number;
}

export const DEFAULT_EMBED_OPTIONS: EmbedOptions = {
  dims: SEMANTIC_DIMS,
  word: 1,
  grams: 1,
  stopword: 0.15,
  code: 1.5,
  number: 1.5,
  bigram: 0,
};

// Function words of English questions and instructions: they say little about which question it is.
const STOPWORDS = new Set(
  (
    'a an the and or but if then else of to in on at by for with from into onto about as than so such ' +
    'is are was were be been being am do does did done doing have has had having will would shall should ' +
    'can could may might must i me my mine we us our you your yours he him his she her it its they them ' +
    'their this that these those there here what which who whom whose when where why how all any both each ' +
    'few more most other some own same too very just also only s t also up down out over under again further ' +
    'once please tell explain describe give me'
  ).split(' '),
);

const FAMILY = { word: 1, gram: 2, code: 3, number: 4, bigram: 5 } as const;

/** FNV-1a of s[from, to) seeded by a feature family, finished with an avalanche so buckets spread. */
function hashRange(s: string, from: number, to: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = from; i < to; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return finish(h);
}

const finish = avalanche;

/** Adds weight w to the signed bucket of hash h. */
function add(v: Float32Array, h: number, w: number): void {
  v[h & (v.length - 1)]! += (h & 0x80000000) === 0 ? w : -w;
}

/** A light, general English stemmer: plurals, -ing, -ed, -ly; keeps short words as they are. */
export function stem(word: string): string {
  const n = word.length;
  if (n <= 3 || /\d/.test(word)) return word;
  let w = word;
  if (w.endsWith('ies') && n > 4) w = `${w.slice(0, -3)}y`;
  else if (w.endsWith('sses')) w = w.slice(0, -2);
  else if (w.endsWith('s') && !/(ss|us|is|ys)$/.test(w)) w = w.slice(0, -1);
  if (w.length > 5 && w.endsWith('ing')) w = undouble(w.slice(0, -3));
  else if (w.length > 4 && w.endsWith('ed') && !w.endsWith('eed')) w = undouble(w.slice(0, -2));
  else if (w.length > 5 && w.endsWith('ly')) w = w.slice(0, -2);
  if (w.length > 4 && w.endsWith('e')) w = w.slice(0, -1);
  return w;
}

function undouble(w: string): string {
  const n = w.length;
  return n > 3 && w[n - 1] === w[n - 2] && !/[lsz]/.test(w[n - 1]!) ? w.slice(0, -1) : w;
}

export interface Tokens {
  /** Lower-cased words (contractions split: n't → not), in order. */
  words: string[];
  /** Identifiers and code kept whole, lower-cased. */
  code: string[];
  /** Numbers as written ("2.10.0", "3,000" → "3000"). */
  numbers: string[];
}

const BACKTICKED = /`([^`\n]+)`/g;
const CHUNK = /\S+/g;
const WORD = /[\p{L}\p{M}\p{N}]+(?:['’][\p{L}]+)?/gu;
const NUMBER = /\p{N}+(?:[.,]\p{N}+)*/gu;
// snake_case, dotted.name, call(), camelCase / PascalCase with an inner capital, a slash path.
const CODE_LIKE =
  /^[\p{L}_$][\p{L}\p{N}_$]*(?:[._/][\p{L}\p{N}_$]+)+(?:\(\))?$|^[\p{L}_$][\p{L}\p{N}_$]*\(.*\)$|^\p{Ll}+\p{Lu}|^\p{Lu}\p{Ll}+\p{Lu}|_/u;
const LEADING_PUNCT = /^[\s"'“”‘’([{<*]+/u;
// Trailing punctuation, but not the () of a call: `load_dataset()`.
const TRAILING_PUNCT = /(?:[\s"'“”‘’\]}>*,;:!?.]|(?<!\()\))+$/u;

const PLAIN_WORD = /^[a-z]+[,.;:!?]?$/;

/** Splits a text into words, code tokens and numbers. */
export function tokenize(text: string): Tokens {
  const t: Tokens = { words: [], code: [], numbers: [] };
  const hasBackticks = text.includes('`');
  if (hasBackticks) for (const m of text.matchAll(BACKTICKED)) t.code.push(normaliseCode(m[1]!));
  for (const m of (hasBackticks ? text.replace(BACKTICKED, ' $1 ') : text).matchAll(CHUNK)) {
    const raw = m[0];
    // Most chunks are plain lower-case words: no regular expression beyond this one.
    if (PLAIN_WORD.test(raw)) t.words.push(/[a-z]$/.test(raw) ? raw : raw.slice(0, -1));
    else readChunk(raw, t);
  }
  return t;
}

function readChunk(raw: string, t: Tokens): void {
  const chunk = raw.replace(LEADING_PUNCT, '').replace(TRAILING_PUNCT, '');
  if (chunk.length > 1 && CODE_LIKE.test(chunk) && !/^v?\p{N}/u.test(chunk)) {
    t.code.push(normaliseCode(chunk));
  }
  if (/\p{N}/u.test(chunk)) {
    for (const n of chunk.matchAll(NUMBER)) t.numbers.push(n[0].replace(/,(?=\d{3}\b)/g, ''));
  }
  for (const w of chunk.matchAll(WORD)) pushWord(t.words, w[0].toLowerCase());
}

function normaliseCode(token: string): string {
  return token.trim().toLowerCase().replace(/\(\)$/, '');
}

function pushWord(words: string[], w: string): void {
  const apostrophe = w.search(/['’]/);
  if (apostrophe < 0) {
    words.push(w);
    return;
  }
  const head = w.slice(0, apostrophe);
  const tail = w.slice(apostrophe + 1);
  if (tail === 't' && head.endsWith('n')) {
    const base = head.slice(0, -1);
    words.push(base === 'ca' ? 'can' : base === 'wo' ? 'will' : base, 'not');
  } else words.push(head);
}

export function isStopword(word: string): boolean {
  return STOPWORDS.has(word);
}

/** The embedding with explicit options (for evaluation); embedText uses DEFAULT_EMBED_OPTIONS. */
export function embedWith(text: string, o: EmbedOptions): Float32Array {
  const v = new Float32Array(o.dims);
  const { words, code, numbers } = tokenize(text);
  const counts = new Map<string, number>();
  for (const w of words) counts.set(w, (counts.get(w) ?? 0) + 1);
  for (const [w, tf] of counts) addWord(v, w, (1 + Math.log(tf)) * (/^\p{N}+$/u.test(w) ? 0.5 : 1), o);
  addCounted(v, code, FAMILY.code, o.code);
  addCounted(v, numbers, FAMILY.number, o.number);
  if (o.bigram > 0) addBigrams(v, words, o.bigram);
  return normalise(v);
}

function addWord(v: Float32Array, w: string, tf: number, o: EmbedOptions): void {
  if (STOPWORDS.has(w)) {
    if (o.stopword > 0) add(v, hashRange(w, 0, w.length, FAMILY.word), o.stopword * tf);
    return;
  }
  const s = stem(w);
  add(v, hashRange(s, 0, s.length, FAMILY.word), o.word * tf);
  if (o.grams <= 0 || w.length < 3) return;
  const padded = `<${w}>`;
  const n = padded.length;
  const grams = Math.max(1, n - 2) + Math.max(0, n - 3) + Math.max(0, n - 4);
  const each = (o.grams * tf) / Math.sqrt(grams);
  for (let i = 0; i + 3 <= n; i++) {
    for (let len = 3; len <= 5 && i + len <= n; len++) {
      add(v, hashRange(padded, i, i + len, FAMILY.gram + len * 16), each);
    }
  }
}

function addCounted(v: Float32Array, tokens: string[], family: number, weight: number): void {
  if (weight <= 0 || tokens.length === 0) return;
  const counts = new Map<string, number>();
  for (const t of tokens) counts.set(t, (counts.get(t) ?? 0) + 1);
  for (const [t, tf] of counts) add(v, hashRange(t, 0, t.length, family), weight * (1 + Math.log(tf)));
}

function addBigrams(v: Float32Array, words: string[], weight: number): void {
  let previous: string | undefined;
  for (const w of words) {
    if (STOPWORDS.has(w)) continue;
    const s = stem(w);
    if (previous !== undefined) {
      const pair = `${previous} ${s}`;
      add(v, hashRange(pair, 0, pair.length, FAMILY.bigram), weight);
    }
    previous = s;
  }
}

function normalise(v: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!;
  if (sum === 0) return v;
  const scale = 1 / Math.sqrt(sum);
  for (let i = 0; i < v.length; i++) v[i]! *= scale;
  return v;
}

/** A unit-length vector for text (all zeros for a text with no words); cosine similarity is the dot product. */
export function embedText(text: string): Float32Array {
  return embedWith(text, DEFAULT_EMBED_OPTIONS);
}

/** The dot product of two vectors of the same length (their cosine, for unit vectors). */
export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}
