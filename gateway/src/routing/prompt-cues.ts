// The structure cues of the router's prompt features (bias, length, words, digits, a formula, code, lettered
// answer options, a question mark, lines), computed in one branch-free pass over the lower-cased text of
// prompt-scan.ts and a look around the few characters the cue regexes need. Pure, but not reentrant: the
// values of a scan overwrite the one before.
import { codes, isLineEnd, isRegexWord, isSpace, isWordChar, MAX_LOWER } from './prompt-scan.js';

/** FNV-1a, 32 bits, over a string's UTF-16 code units; `seed` separates feature families. */
function hash(s: string, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** The cue features, in the order they are emitted: each a fixed bucket, a value in [0, 1]. */
export const CUE_NAMES = 'bias length words digits formula code options question lines'
  .split(' ')
  .map((name) => `cue:${name}`);
export const CUE_HASHES = Uint32Array.from(CUE_NAMES, (name) => hash(name, 4));
/** The cue values of the last scan, in CUE_NAMES order. */
export const cueValues = new Float64Array(CUE_NAMES.length);

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
export function scanCues(len: number): void {
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
