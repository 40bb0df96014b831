// The text the router's prompt features are computed from: a prompt's first characters lower-cased into one
// reused typed array of UTF-16 code units (the request path allocates no strings), the character classes
// the scans test, and the token scan that hashes word unigrams and bigrams as the characters go by. Pure,
// but not reentrant: each scan overwrites the arrays of the one before.

/** Longest prompt text read: beyond it the features only get slower, not better. */
export const MAX_CHARS = 2000;
/**
 * Longest lower-cased text: lower-casing lengthens only 'İ' (U+0130, to 'i' and a combining dot), so at
 * most twice the characters read (a test checks every code point).
 */
export const MAX_LOWER = 2 * MAX_CHARS;
export const FNV_PRIME = 0x01000193;
// The request path keeps hash states as int32 (what Math.imul gives), not uint32: the same bits, and the
// same bucket (`h & mask`, the mask below 2^31), but an int32 stays a small integer where a uint32 above
// 2^31 would be a double.
const WORD_SEED = (0x811c9dc5 ^ 1) | 0;
const BIGRAM_SEED = (0x811c9dc5 ^ 2) | 0;
export const TRIGRAM_SEED = (0x811c9dc5 ^ 3) | 0;

/** JavaScript's \s (what the tokens are separated by). */
export const isSpace = (c: number): boolean =>
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
export const isWordChar = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
/** JavaScript's line terminators: where ^ and $ match in a multiline regex. */
export const isLineEnd = (c: number): boolean => c === 10 || c === 13 || c === 0x2028 || c === 0x2029;
/** \w of a regex without the u or i flag (for \b). */
export const isRegexWord = (c: number): boolean =>
  (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || c === 95;

/** The lower-cased text of the last scan, as UTF-16 code units: the loops read a typed array, not a string. */
const codeBytes = Buffer.alloc(2 * MAX_LOWER);
export const codes = new Uint16Array(codeBytes.buffer, codeBytes.byteOffset, MAX_LOWER);
/** Whether codes can be written as UTF-16LE bytes (a little-endian machine, as Node's almost always are). */
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/**
 * Writes `prompt.slice(0, limit).toLowerCase()` into codes and returns its length: the string lower-cased
 * and copied natively (far faster than a loop over charCodeAt), code unit for code unit.
 */
export function lowerInto(prompt: string, limit: number): number {
  const text = (prompt.length > limit ? prompt.slice(0, limit) : prompt).toLowerCase();
  const len = Math.min(text.length, MAX_LOWER);
  if (LITTLE_ENDIAN) codeBytes.write(text, 0, 2 * len, 'utf16le');
  else for (let i = 0; i < len; i++) codes[i] = text.charCodeAt(i);
  return len;
}

/** The tokens' hashes of the last scan (the request path allocates no strings for them). */
export const wordHashes = new Int32Array(MAX_LOWER);
export const bigramHashes = new Int32Array(MAX_LOWER);

/**
 * Tokens of the lower-cased text in codes — runs of [a-z0-9], or single characters that are neither those
 * nor space — as hash(token, 1) in wordHashes and hash(`${previous} ${token}`, 2) in bigramHashes (from the
 * second token), computed as the characters go by. Returns the number of tokens.
 */
export function scanTokens(len: number): number {
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
