// Token counting with the o200k_base byte-pair encoding, its vocabulary held outside the V8 heap. The
// vocabulary (200,000 tokens) comes from gpt-tokenizer's rank file; as that package keeps it, it is 200,000
// strings and a Map of them, ~24 MiB that every full garbage collection marks (16 ms a collection measured
// on this project's machines), plus a merge cache that grows with the words seen. Here each token's bytes
// sit end to end in one Uint8Array and a hash table of Int32Arrays maps bytes to rank: ~5 MiB of array
// buffers that the collector does not walk. The split into pieces is the encoding's own regular expression;
// each piece is merged by rank as tiktoken does, so the counts are the encoding's own (the tests compare
// them with gpt-tokenizer's on real prompts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import vm from 'node:vm';

const require = createRequire(import.meta.url);

/** The table's slots: a power of two, over twice the vocabulary. */
const SLOTS = 1 << 19;
const EMPTY = -1;

interface Vocabulary {
  /** Every token's bytes, end to end. */
  bytes: Uint8Array;
  /** Token r's bytes are bytes[start[r], start[r + 1]). */
  start: Int32Array;
  /** Open addressing: slot → rank, EMPTY where none. */
  slots: Int32Array;
}

/** FNV-1a over bytes[from, to). */
function hash(bytes: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

function packageDir(): string {
  return path.dirname(require.resolve('gpt-tokenizer/package.json'));
}

/**
 * Reads the rank file once and packs it. The file is run in a context of its own rather than required: a
 * required module stays reachable (module.children), and with it the compiled array literal's 200,000
 * strings, which every full collection would go on marking.
 */
function loadVocabulary(): Vocabulary {
  const file = path.join(packageDir(), 'cjs', 'bpeRanks', 'o200k_base.js');
  const sandbox = { exports: {} as { default?: (string | number[])[] } };
  vm.runInNewContext(readFileSync(file, 'utf8'), sandbox, { filename: file });
  const ranks = sandbox.exports.default ?? [];
  if (ranks.length < 100_000) throw new Error(`${file}: not the o200k_base ranks`);
  const encoder = new TextEncoder();
  const sizeOf = (t: string | number[]) => (typeof t === 'string' ? Buffer.byteLength(t) : t.length);
  const total = ranks.reduce((n, t) => n + sizeOf(t), 0);
  const bytes = new Uint8Array(total);
  const start = new Int32Array(ranks.length + 1);
  const slots = new Int32Array(SLOTS).fill(EMPTY);
  let at = 0;
  ranks.forEach((t, rank) => {
    start[rank] = at;
    if (typeof t === 'string') encoder.encodeInto(t, bytes.subarray(at));
    else bytes.set(t, at);
    at += sizeOf(t);
    let s = hash(bytes, start[rank], at) & (SLOTS - 1);
    while (slots[s] !== EMPTY) s = (s + 1) & (SLOTS - 1);
    slots[s] = rank;
  });
  start[ranks.length] = at;
  return { bytes, start, slots };
}

/** The o200k_base pre-tokenizer: the pieces that are merged separately. */
function splitPattern(): RegExp {
  const file = path.join(packageDir(), 'cjs', 'encodingParams', 'constants.js');
  const source = (require(file) as { O200K_TOKEN_SPLIT_REGEX: RegExp }).O200K_TOKEN_SPLIT_REGEX;
  return new RegExp(source.source, source.flags);
}

/** Whether a text needs the regular expression: anything outside ASCII. */
const NOT_ASCII = /[\u0080-\uffff]/;

// Character classes of the split pattern, for ASCII: \p{Lu}, \p{Ll}, \p{N}, \s, and \r \n.
const UPPER = 1;
const LOWER = 2;
const DIGIT = 4;
const SPACE = 8;
const NEWLINE = 16;
const LETTER = UPPER | LOWER;
const ASCII_CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  if (c >= 65 && c <= 90) ASCII_CLASS[c] = UPPER;
  else if (c >= 97 && c <= 122) ASCII_CLASS[c] = LOWER;
  else if (c >= 48 && c <= 57) ASCII_CLASS[c] = DIGIT;
  else if (c === 10 || c === 13) ASCII_CLASS[c] = SPACE | NEWLINE;
  else if ((c >= 9 && c <= 13) || c === 32) ASCII_CLASS[c] = SPACE;
}

/** The class of text[i], 0 past the end (text is ASCII). */
const classAt = (text: string, i: number): number => (i < text.length ? ASCII_CLASS[text.charCodeAt(i)]! : 0);

/**
 * Where the o200k_base split pattern's match starting at `i` ends, for ASCII text: the pattern's seven
 * alternatives in its order, with its backtracking worked out for ASCII's disjoint classes —
 *   1, 2  [^\r\n\p{L}\p{N}]? then upper case letters, then lower case ones (one letter at least),
 *         then a contraction
 *   3     one to three digits
 *   4     an optional space, punctuation (neither \s, letter nor digit), then any of \r \n /
 *   5     white space up to its last \r or \n
 *   6     white space but its last character when a non-space follows (that one starts the next piece)
 *   7     white space
 * Every ASCII character starts a match, so the pieces tile the text. The tests hold it to the expression.
 */
export function asciiPieceEnd(text: string, i: number): number {
  const first = classAt(text, i);
  if ((first & DIGIT) !== 0) {
    let j = i + 1;
    while (j < i + 3 && (classAt(text, j) & DIGIT) !== 0) j++;
    return j;
  }
  if ((first & NEWLINE) === 0) {
    // Alternatives 1 and 2: a prefix character (neither a letter, a digit, \r nor \n), then letters.
    const start = (first & LETTER) === 0 ? i + 1 : i;
    let j = start;
    while ((classAt(text, j) & UPPER) !== 0) j++;
    while ((classAt(text, j) & LOWER) !== 0) j++;
    if (j > start) return contractionEnd(text, j);
  }
  // Alternative 4.
  let k = text.charCodeAt(i) === 32 ? i + 1 : i;
  if (k < text.length && (classAt(text, k) & (SPACE | LETTER | DIGIT)) === 0) {
    k++;
    while (k < text.length && (classAt(text, k) & (SPACE | LETTER | DIGIT)) === 0) k++;
    for (let c = text.charCodeAt(k); c === 13 || c === 10 || c === 47; c = text.charCodeAt(++k));
    return k;
  }
  // White space (first is \s here: every other class has matched above).
  let end = i + 1;
  let lastNewline = (first & NEWLINE) !== 0 ? i : -1;
  for (let c = classAt(text, end); (c & SPACE) !== 0; c = classAt(text, ++end))
    if ((c & NEWLINE) !== 0) lastNewline = end;
  if (lastNewline >= 0) return lastNewline + 1;
  if (end < text.length && end - 1 > i) return end - 1;
  return end;
}

/** After letters ending at j: past a contraction ('s 'd 'm 't 'll 've 're, any case) when one follows. */
function contractionEnd(text: string, j: number): number {
  if (text.charCodeAt(j) !== 39) return j;
  // | 0x20 lowers a letter's case, and turns no other character into one of these letters.
  const a = text.charCodeAt(j + 1) | 0x20;
  if (a === 115 || a === 100 || a === 109 || a === 116) return j + 2;
  const b = text.charCodeAt(j + 2) | 0x20;
  return (a === 108 && b === 108) || (a === 118 && b === 101) || (a === 114 && b === 101) ? j + 3 : j;
}

/** SHORT_PIECE bytes or fewer: the quadratic merge is faster than the heap's bookkeeping. */
const SHORT_PIECE = 64;
/** Longer pieces are merged in chunks of this many bytes (see countPiece). */
const LONGEST_PIECE = 4096;
/** Bytes of such chunks merged in one text before the rest is estimated from them. */
const EXACT_LONG_BYTES = 64 * 1024;

export class BpeCounter {
  private readonly vocab = loadVocabulary();
  private readonly split = splitPattern();
  private readonly encoder = new TextEncoder();
  /** A piece's bytes, when they fit (a longer piece is encoded into a buffer of its own). */
  private readonly scratch = new Uint8Array(3 * LONGEST_PIECE);
  /** Part boundaries of a short piece being merged. */
  private readonly bounds = new Int32Array(SHORT_PIECE + 1);

  /** The rank of piece[from, to), or EMPTY. */
  private rank(piece: Uint8Array, from: number, to: number): number {
    const { bytes, start, slots } = this.vocab;
    const length = to - from;
    let s = hash(piece, from, to) & (SLOTS - 1);
    for (let rank = slots[s]!; rank !== EMPTY; rank = slots[s]!) {
      const at = start[rank]!;
      if (start[rank + 1]! - at === length) {
        let i = 0;
        while (i < length && bytes[at + i] === piece[from + i]) i++;
        if (i === length) return rank;
      }
      s = (s + 1) & (SLOTS - 1);
    }
    return EMPTY;
  }

  /** Tokens of `text` (special-token text counts as plain text). */
  count(text: string): number {
    this.longBytes = 0;
    this.longTokens = 0;
    if (!NOT_ASCII.test(text)) return this.countAscii(text);
    let total = 0;
    for (const [piece] of text.matchAll(this.split)) total += this.countPiece(piece);
    return total;
  }

  /**
   * ASCII text, split by asciiPieceEnd and merged from its character codes: no match object, substring or
   * encoding per piece (the regular expression's iterator allocated ~3 KB for a one-line prompt).
   */
  private countAscii(text: string): number {
    const buf = this.scratch;
    let total = 0;
    for (let i = 0, end = 0; i < text.length; i = end) {
      end = asciiPieceEnd(text, i);
      const n = end - i;
      if (n > buf.length) {
        total += this.countPiece(text.slice(i, end));
        continue;
      }
      for (let k = 0; k < n; k++) buf[k] = text.charCodeAt(i + k);
      total += this.countBytes(buf, n);
    }
    return total;
  }

  /** Bytes of the current text merged in chunks so far, and the tokens they made. */
  private longBytes = 0;
  private longTokens = 0;

  private countPiece(piece: string): number {
    const fits = piece.length * 3 <= this.scratch.length;
    const buf = fits ? this.scratch : this.encoder.encode(piece);
    return this.countBytes(buf, fits ? this.encoder.encodeInto(piece, buf).written : buf.length);
  }

  /** Tokens of one piece, its UTF-8 bytes in buf[0, n). */
  private countBytes(buf: Uint8Array, n: number): number {
    if (this.rank(buf, 0, n) !== EMPTY) return 1;
    if (n <= SHORT_PIECE) return this.mergeShort(buf, n);
    if (n <= LONGEST_PIECE) return this.mergeLong(buf, 0, n);
    // No text has such a piece but a hostile one (gpt-tokenizer's merge is quadratic: 3.2 s for a 100 KB
    // piece). It is merged in chunks cut between characters, which costs a few tokens against one merge
    // (+0.15% measured on a 100 KB piece); past EXACT_LONG_BYTES of such chunks in one text the rest is
    // estimated at the rate the merged ones gave, so a request of one 4 MiB "word" costs tens of ms.
    let total = 0;
    for (let from = 0; from < n;) {
      if (this.longBytes >= EXACT_LONG_BYTES)
        return total + Math.ceil(((n - from) * this.longTokens) / this.longBytes);
      let to = Math.min(n, from + LONGEST_PIECE);
      while (to < n && (buf[to]! & 0xc0) === 0x80) to--;
      const tokens = this.mergeLong(buf, from, to);
      total += tokens;
      this.longBytes += to - from;
      this.longTokens += tokens;
      from = to;
    }
    return total;
  }

  /** tiktoken's byte_pair_merge: merge the adjacent pair of least rank (leftmost first) until none is a token. */
  private mergeShort(buf: Uint8Array, n: number): number {
    const b = this.bounds;
    let parts = n;
    for (let i = 0; i <= n; i++) b[i] = i;
    for (;;) {
      let best = EMPTY;
      let at = -1;
      for (let i = 0; i + 1 < parts; i++) {
        const r = this.rank(buf, b[i]!, b[i + 2]!);
        if (r !== EMPTY && (best === EMPTY || r < best)) {
          best = r;
          at = i;
        }
      }
      if (at < 0) return parts;
      b.copyWithin(at + 1, at + 2, parts + 1);
      parts--;
    }
  }

  /**
   * The same merges in O(n log n) for long pieces (a 100 KB "word" would take the quadratic loop minutes):
   * parts as a linked list over byte offsets, candidate pairs in a heap ordered by (rank, offset), a popped
   * pair used only if both its parts are still as they were when it was pushed.
   */
  private mergeLong(buf: Uint8Array, from: number, to: number): number {
    const m = to - from;
    // Offsets below are relative to `from`.
    const next = new Int32Array(m + 1);
    const prev = new Int32Array(m + 1);
    const version = new Int32Array(m + 1);
    for (let i = 0; i <= m; i++) {
      next[i] = i + 1;
      prev[i] = i - 1;
    }
    const heap = new PairHeap();
    const push = (left: number) => {
      const right = next[left]!;
      if (right >= m) return;
      const r = this.rank(buf, from + left, from + next[right]!);
      if (r !== EMPTY) heap.push(r, left, version[left]!, version[right]!);
    };
    for (let i = 0; i + 1 < m; i++) push(i);
    let parts = m;
    for (let top = heap.pop(); top !== undefined; top = heap.pop()) {
      const [, left, leftVersion, rightVersion] = top;
      const right = next[left]!;
      if (version[left] !== leftVersion || right >= m || version[right] !== rightVersion) continue;
      if (prev[left] === -2) continue; // merged into its left neighbour since
      // The right part joins the left one.
      next[left] = next[right]!;
      if (next[right]! <= m) prev[next[right]!] = left;
      prev[right] = -2;
      version[left]++;
      parts--;
      if (prev[left]! >= 0) push(prev[left]!);
      push(left);
    }
    return parts;
  }
}

/** A binary min-heap of [rank, offset, left version, right version], by rank then offset. */
class PairHeap {
  private readonly items: [number, number, number, number][] = [];

  push(rank: number, offset: number, leftVersion: number, rightVersion: number): void {
    const items = this.items;
    items.push([rank, offset, leftVersion, rightVersion]);
    let i = items.length - 1;
    while (i > 0) {
      const up = (i - 1) >> 1;
      if (!less(items[i]!, items[up]!)) break;
      [items[i], items[up]] = [items[up]!, items[i]!];
      i = up;
    }
  }

  pop(): [number, number, number, number] | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    for (let i = 0; ;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < items.length && less(items[l]!, items[m]!)) m = l;
      if (r < items.length && less(items[r]!, items[m]!)) m = r;
      if (m === i) return top;
      [items[i], items[m]] = [items[m]!, items[i]!];
      i = m;
    }
  }
}

const less = (a: readonly number[], b: readonly number[]): boolean =>
  a[0]! < b[0]! || (a[0] === b[0] && a[1]! < b[1]!);
