// The router's prompt features, computed in one pass over the lower-cased text and without allocating on
// the request path: hashed word unigrams and bigrams, character trigrams, and structure cues (length,
// words, digits, a formula, code, lettered answer options, a question mark, lines), each family scaled to
// unit length. Shared by the quality/cost router (router-model.ts) and the domain classifier
// (domain-model.ts); featureScore scores a linear model on them without collecting them first. Pure.

export const FEATURE_FAMILIES = ['words', 'bigrams', 'trigrams', 'cues'] as const;
export type FeatureFamily = (typeof FEATURE_FAMILIES)[number];

/** FNV-1a, 32 bits, over a string's UTF-16 code units; `seed` separates feature families. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Longest prompt text read: beyond it the features only get slower, not better. */
const MAX_CHARS = 2000;
/**
 * Longest lower-cased text: lower-casing lengthens only 'İ' (U+0130, to 'i' and a combining dot), so at
 * most twice the characters read (a test checks every code point).
 */
const MAX_LOWER = 2 * MAX_CHARS;
const FNV_PRIME = 0x01000193;
// The request path keeps hash states as int32 (what Math.imul gives), not uint32: the same bits, and the
// same bucket (`h & mask`, the mask below 2^31), but an int32 stays a small integer where a uint32 above
// 2^31 would be a double.
const WORD_SEED = (0x811c9dc5 ^ 1) | 0;
const BIGRAM_SEED = (0x811c9dc5 ^ 2) | 0;
const TRIGRAM_SEED = (0x811c9dc5 ^ 3) | 0;

/** JavaScript's \s (what the tokens are separated by). */
const isSpace = (c: number): boolean =>
  c === 32 ||
  (c >= 9 && c <= 13) ||
  (c >= 0xa0 &&
    (c === 0xa0 ||
      c === 0x1680 ||
      (c >= 0x2000 && c <= 0x200a) ||
      c === 0x2028 ||
      c === 0x2029 ||
      c === 0x202f ||
      c === 0x205f ||
      c === 0x3000 ||
      c === 0xfeff));
const isWordChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
/** JavaScript's line terminators: where ^ and $ match in a multiline regex. */
const isLineEnd = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
/** \w of a regex without the u or i flag (for \b). */
const isRegexWord = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95;

/** The lower-cased text of the last scan, as UTF-16 code units: the loops read a typed array, not a string. */
const codeBytes = Buffer.alloc(2 * MAX_LOWER);
const codes = new Uint16Array(codeBytes.buffer, codeBytes.byteOffset, MAX_LOWER);
/** Whether codes can be written as UTF-16LE bytes (a little-endian machine, as Node's almost always are). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Writes `prompt.slice(0, limit).toLowerCase()` into codes and returns its length: the string lower-cased
 * and copied natively (far faster than a loop over charCodeAt), code unit for code unit.
 */
function lowerInto(prompt: string, limit: number): number {
  const text = (prompt.length > limit ? prompt.slice(0, limit) : prompt).toLowerCase();
  const len = Math.min(text.length, MAX_LOWER);
  if (LITTLE_ENDIAN) codeBytes.write(text, 0, 2 * len, 'utf16le');
  else for (let i = 0; i < len; i++) codes[i] = text.charCodeAt(i);
  return len;
}

/** The tokens' hashes of the last scan (the request path allocates no strings for them). */
const wordHashes = new Int32Array(MAX_LOWER);
const bigramHashes = new Int32Array(MAX_LOWER);

/**
 * Tokens of the lower-cased text in codes — runs of [a-z0-9], or single characters that are neither those
 * nor space — as hash(token, 1) in wordHashes and hash(`${previous} ${token}`, 2) in bigramHashes (from the
 * second token), computed as the characters go by. Returns the number of tokens.
 */
function scanTokens(len: number): number {
  let n = 0;
  let prevBigram = 0; // hash(previous token, 2), the start of the next bigram's
  let i = 0;
  while (i < len) {
    let c = codes[i] as number;
    if (isSpace(c)) {
      i++;
      continue;
    }
    let word = WORD_SEED;
    let asPrefix = BIGRAM_SEED;
    let bigram = n > 0 ? Math.imul(prevBigram ^ 32, FNV_PRIME) : 0;
    do {
      word = Math.imul(word ^ c, FNV_PRIME);
      asPrefix = Math.imul(asPrefix ^ c, FNV_PRIME);
      bigram = Math.imul(bigram ^ c, FNV_PRIME);
      i++;
      if (!isWordChar(c)) break; // a single-character token
      c = i < len ? (codes[i] as number) : 32;
    } while (isWordChar(c));
    wordHashes[n] = word;
    bigramHashes[n] = bigram;
    prevBigram = asPrefix;
    n++;
  }
  return n;
}

/** The cue features, in the order they are emitted: each a fixed bucket, a value in [0, 1]. */
const CUE_NAMES = 'bias length words digits formula code options question lines'
  .split(' ')
  .map((name) => `cue:${name}`);
const CUE_HASHES = Uint32Array.from(CUE_NAMES, (name) => hash(name, 4));
/** The cue values of the last scan, in CUE_NAMES order. */
const cueValues = new Float64Array(CUE_NAMES.length);

// What the cue scan needs to know of a code unit, looked up in one table: a token character ([a-z0-9]),
// a digit, \s, a line feed (counted as a line), one of the characters the formula, code, options and
// question cues look around, and 'd' or 'f' (which may start `def` or `function`).
const TOKEN = 1;
const DIGIT = 2;
const SPACE = 4;
const NEWLINE = 8;
const LOOK = 16;
const WORD_START = 32;
const charFlags = new Uint8Array(0x10000);
for (let c = 0; c < 0x10000; c++)
  charFlags[c] = (isWordChar(c) ? TOKEN : 0) | (c >= 48 && c <= 57 ? DIGIT : 0) | (isSpace(c) ? SPACE : 0);
charFlags[10] = (charFlags[10] as number) | NEWLINE;
for (const ch of '=+-*/^$\\`?;{.)') charFlags[ch.charCodeAt(0)] = LOOK;
charFlags[100] = (charFlags[100] as number) | WORD_START; // d
charFlags[102] = (charFlags[102] as number) | WORD_START; // f
/** Where the last cue scan found characters to look around (LOOK, or WORD_START at a token's start). */
const lookAt = new Int32Array(MAX_LOWER);

const FORMULA = 1;
const CODE = 2;
const OPTIONS = 4;
const QUESTION = 8;
const isDigit = (c: number): boolean => c >= 48 && c <= 57;

/** Whether codes[i, i + s.length) is `s` (ASCII), within the text. */
function codesAt(i: number, len: number, s: string): boolean {
  if (i + s.length > len) return false;
  for (let k = 0; k < s.length; k++) if (codes[i + k] !== s.charCodeAt(k)) return false;
  return true;
}

/** \d\s*[=+*\/^] ending at i: the last character before i that is not \s is a digit. */
function digitBefore(i: number): boolean {
  let k = i - 1;
  while (k >= 0 && isSpace(codes[k] as number)) k--;
  return k >= 0 && isDigit(codes[k] as number);
}

/** [=+\-*\/^]\s*\d starting at i: the first character after i that is not \s is a digit. */
function digitAfter(i: number, len: number): boolean {
  let k = i + 1;
  while (k < len && isSpace(codes[k] as number)) k++;
  return k < len && isDigit(codes[k] as number);
}

/**
 * Which of the regex cues the character at i makes match, by looking around it — the cue regexes, on the
 * lower-cased text, are
 *   formula  /[=+\-*\/^]\s*\d|\d\s*[=+*\/^]|\\frac|\\sqrt|\$/
 *   code     /```|\bdef\b|\bfunction\b|;\s*$|\{\s*$/m
 *   options  /^\s*[a-d][.)]\s/m
 *   question /\?/
 * and every match has a character scanCues marks (LOOK, or WORD_START at a token's start) where the look
 * around it finds the match (a test checks the pass against the regexes).
 */
function cueAt(i: number, len: number): number {
  const c = codes[i] as number;
  switch (c) {
    case 46: // .
    case 41: // )
      return optionAt(i, len) ? OPTIONS : 0;
    case 59: // ;
    case 123: // {
      return lineEndsAfter(i, len) ? CODE : 0;
    case 100: // d
      return wholeWordAt(i, len, 'def') ? CODE : 0;
    case 102: // f
      return wholeWordAt(i, len, 'function') ? CODE : 0;
    case 96: // `
      return codesAt(i, len, '```') ? CODE : 0;
    case 63: // ?
      return QUESTION;
    default:
      return formulaAt(c, i, len) ? FORMULA : 0;
  }
}

/** The formula regex matches at or around the character c at i. */
function formulaAt(c: number, i: number, len: number): boolean {
  switch (c) {
    case 61: // =
    case 43: // +
    case 42: // *
    case 47: // /
    case 94: // ^
      return digitBefore(i) || digitAfter(i, len);
    case 45: // -
      return digitAfter(i, len);
    case 36: // $
      return true;
    case 92: // \
      return codesAt(i, len, '\\frac') || codesAt(i, len, '\\sqrt');
    default:
      return false;
  }
}

/** ^\s*[a-d][.)]\s (multiline) ending at the '.' or ')' at i: a–d before it, \s after, only \s since a line's start. */
function optionAt(i: number, len: number): boolean {
  if (i < 1 || i + 1 >= len) return false;
  const letter = codes[i - 1] as number;
  if (letter < 97 || letter > 100 || !isSpace(codes[i + 1] as number)) return false;
  let k = i - 2;
  while (k >= 0 && isSpace(codes[k] as number) && !isLineEnd(codes[k] as number)) k--;
  return k < 0 || isLineEnd(codes[k] as number);
}

/** [;{]\s*$ (multiline) from i: only \s after it, to the end of the text or to a line terminator. */
function lineEndsAfter(i: number, len: number): boolean {
  let k = i + 1;
  while (k < len && isSpace(codes[k] as number) && !isLineEnd(codes[k] as number)) k++;
  return k === len || isLineEnd(codes[k] as number);
}

/** \bword\b at i. */
function wholeWordAt(i: number, len: number, word: string): boolean {
  const end = i + word.length;
  return (
    (i === 0 || !isRegexWord(codes[i - 1] as number)) &&
    codesAt(i, len, word) &&
    (end >= len || !isRegexWord(codes[end] as number))
  );
}

/**
 * The cue values of the lower-cased text in codes, into cueValues. One pass counts the tokens (as
 * scanTokens does), digits and lines, branch-free, and notes where the characters the regex cues need are;
 * cueAt looks around those few.
 */
function scanCues(len: number): void {
  let words = 0;
  let digits = 0;
  let lines = 0;
  let prevToken = 0;
  let marks = 0;
  for (let i = 0; i < len; i++) {
    const f = charFlags[codes[i] as number] as number;
    const token = f & TOKEN;
    // A token starts at a token character after none, and at every character neither that nor \s.
    words += (token & (prevToken ^ 1)) | ((((f >> 2) | token) & 1) ^ 1);
    digits += (f >> 1) & 1;
    lines += (f >> 3) & 1;
    lookAt[marks] = i;
    marks += ((f >> 4) & 1) | ((f >> 5) & (prevToken ^ 1));
    prevToken = token;
  }
  let found = 0;
  for (let k = 0; k < marks; k++) found |= cueAt(lookAt[k] as number, len);
  cueValues[0] = 1;
  cueValues[1] = Math.min(1, len / 2000);
  cueValues[2] = Math.min(1, words / 400);
  cueValues[3] = Math.min(1, (digits / Math.max(1, len)) * 10);
  cueValues[4] = found & FORMULA ? 1 : 0;
  cueValues[5] = found & CODE ? 1 : 0;
  cueValues[6] = found & OPTIONS ? 1 : 0;
  cueValues[7] = found & QUESTION ? 1 : 0;
  cueValues[8] = Math.min(1, lines / 30);
}

export interface FeatureSet {
  words: boolean;
  bigrams: boolean;
  trigrams: boolean;
  cues: boolean;
}

export const featureSet = (families: readonly FeatureFamily[]): FeatureSet => ({
  words: families.includes('words'),
  bigrams: families.includes('bigrams'),
  trigrams: families.includes('trigrams'),
  cues: families.includes('cues'),
});

/** The sparse features of a prompt: bucket → value, the values of one family scaled to unit length. */
export function routerFeatures(
  prompt: string,
  mask: number,
  f: FeatureSet,
  maxChars?: number,
): Map<number, number> {
  const out = new Map<number, number>();
  visitFeatures(prompt, mask, f, (bucket, v) => out.set(bucket, (out.get(bucket) ?? 0) + v), maxChars);
  return out;
}

/** The features of the last collectFeatures call: buckets and values, `count` of each. */
const MAX_FEATURES = MAX_LOWER * 3 + CUE_NAMES.length;
export const featureBuckets = new Uint32Array(MAX_FEATURES);
export const featureValues = new Float64Array(MAX_FEATURES);

/**
 * Collects the prompt's features into featureBuckets/featureValues (a bucket may come more than once) and
 * returns their count: the request path scores typed arrays, with no callback or allocation per feature.
 * The arrays are overwritten by the next call.
 */
export function collectFeatures(prompt: string, mask: number, f: FeatureSet, maxChars = MAX_CHARS): number {
  const len = lowerInto(prompt, Math.min(maxChars, MAX_CHARS));
  let n = 0;
  if (f.words || f.bigrams) {
    const words = scanTokens(len);
    const wordScale = 1 / Math.sqrt(Math.max(1, words));
    for (let k = 0; k < words; k++) {
      if (f.words) {
        featureBuckets[n] = (wordHashes[k] as number) & mask;
        featureValues[n++] = wordScale;
      }
      if (f.bigrams && k > 0) {
        featureBuckets[n] = (bigramHashes[k] as number) & mask;
        featureValues[n++] = wordScale;
      }
    }
  }
  if (f.trigrams && len >= 3) {
    // hash(text.slice(i - 2, i + 1), 3), the first step of each shared with the trigram before.
    const gramScale = 1 / Math.sqrt(len - 2);
    let first = Math.imul(TRIGRAM_SEED ^ (codes[0] as number), FNV_PRIME);
    let second = codes[1] as number;
    for (let i = 2; i < len; i++) {
      const c = codes[i] as number;
      featureBuckets[n] = Math.imul(Math.imul(first ^ second, FNV_PRIME) ^ c, FNV_PRIME) & mask;
      featureValues[n++] = gramScale;
      first = Math.imul(TRIGRAM_SEED ^ second, FNV_PRIME);
      second = c;
    }
  }
  if (f.cues) {
    scanCues(len);
    for (let k = 0; k < CUE_NAMES.length; k++) {
      const v = cueValues[k] as number;
      if (v !== 0) {
        featureBuckets[n] = (CUE_HASHES[k] as number) & mask;
        featureValues[n++] = v;
      }
    }
  }
  return n;
}

/** Calls `add` with every (bucket, value) of the prompt's features; a bucket may come more than once. */
export function visitFeatures(
  prompt: string,
  mask: number,
  f: FeatureSet,
  add: (bucket: number, v: number) => void,
  maxChars = MAX_CHARS,
): void {
  const n = collectFeatures(prompt, mask, f, maxChars);
  for (let k = 0; k < n; k++) add(featureBuckets[k] as number, featureValues[k] as number);
}

/**
 * A linear model's z of the prompt: `bias` plus weight × value over the features collectFeatures gives,
 * added in the same order (the same z to the bit), but each added as it is computed rather than collected
 * first (the request path scores without filling the feature arrays).
 */
export function featureScore(
  model: { families: FeatureSet; mask: number; weights: Float32Array; bias: number },
  prompt: string,
): number {
  const { families: f, mask, weights: w } = model;
  let z = model.bias;
  const len = lowerInto(prompt, MAX_CHARS);
  if (f.words || f.bigrams) {
    const words = scanTokens(len);
    const wordScale = 1 / Math.sqrt(Math.max(1, words));
    for (let k = 0; k < words; k++) {
      if (f.words) z += (w[(wordHashes[k] as number) & mask] as number) * wordScale;
      if (f.bigrams && k > 0) z += (w[(bigramHashes[k] as number) & mask] as number) * wordScale;
    }
  }
  if (f.trigrams && len >= 3) {
    const gramScale = 1 / Math.sqrt(len - 2);
    let first = Math.imul(TRIGRAM_SEED ^ (codes[0] as number), FNV_PRIME);
    let second = codes[1] as number;
    for (let i = 2; i < len; i++) {
      const c = codes[i] as number;
      z += (w[Math.imul(Math.imul(first ^ second, FNV_PRIME) ^ c, FNV_PRIME) & mask] as number) * gramScale;
      first = Math.imul(TRIGRAM_SEED ^ second, FNV_PRIME);
      second = c;
    }
  }
  if (f.cues) {
    scanCues(len);
    for (let k = 0; k < CUE_NAMES.length; k++) {
      const v = cueValues[k] as number;
      if (v !== 0) z += (w[(CUE_HASHES[k] as number) & mask] as number) * v;
    }
  }
  return z;
}
