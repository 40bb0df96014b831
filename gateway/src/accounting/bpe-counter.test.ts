// The off-heap o200k_base counter against gpt-tokenizer (the reference it replaced) on real prompts, every
// script and byte class, and random text (fast-check); the one place they part is a piece starting with a
// byte-order mark, where gpt-tokenizer's string lookup loses the mark and this counter finds the
// encoding's own BOM tokens, as tiktoken does.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import fc from 'fast-check';
import { asciiPieceEnd, BpeCounter } from './bpe-counter.js';

const require = createRequire(import.meta.url);
const reference = require('gpt-tokenizer') as typeof import('gpt-tokenizer');
const PLAIN = { disallowedSpecial: new Set<string>() };
const expected = (text: string) => reference.countTokens(text, PLAIN);
const counter = new BpeCounter();

const prompts = readFileSync(path.join(import.meta.dirname, '../routing/domains/train.jsonl'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() !== '')
  .map((l) => (JSON.parse(l) as { prompt: string }).prompt);

test('counts real prompts exactly as the encoding does', () => {
  expect(prompts.length).toBeGreaterThan(500);
  const differing = prompts.filter((p) => counter.count(p) !== expected(p));
  expect(differing).toEqual([]);
  const total = prompts.reduce((n, p) => n + counter.count(p), 0);
  expect(total).toBe(prompts.reduce((n, p) => n + expected(p), 0));
});

test.each([
  ['empty', ''],
  ['spaces and line ends', ' \t \r\n\r\n   x \n'],
  ['accents and CJK', 'héllo wörld — 日本語のテキストと한국어 텍스트'],
  ['emoji with modifiers', '😀👍🏽👨‍👩‍👧 🦄🦄🦄'],
  ['digits in threes', '12345678901234567890 3.14159 1,000,000'],
  ['a long run of one letter', 'a'.repeat(5000)],
  ['code', 'function f(x) { return x?.y ?? [1, 2, 3].map((v) => v * 2); }'],
  ['special-token text as plain text', '<|endoftext|> and <|im_start|>'],
  ['contractions', "I'm sure they'll say it's what we've DONE"],
  ['control characters and a lone surrogate', '\u0000\u0007\uFFFD \uD800 x'],
  ['right-to-left and combining marks', 'مرحبا بالعالم שלום e\u0301 n\u0303'],
])('%s', (_name, text) => {
  expect(counter.count(text)).toBe(expected(text));
});

test('counts random text as the encoding does', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme', maxLength: 200 }), (text) => {
      fc.pre(!text.includes('\uFEFF'));
      expect(counter.count(text)).toBe(expected(text));
    }),
    { numRuns: 500 },
  );
});

test('counts long single pieces (the heap-ordered merge) as the encoding does', () => {
  const letters = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzéüñ'.split(''), 'ab', 'ing', 'tion');
  fc.assert(
    fc.property(fc.array(letters, { minLength: 40, maxLength: 300 }), (parts) => {
      const word = parts.join('');
      expect(counter.count(word)).toBe(expected(word));
    }),
    { numRuns: 200 },
  );
});

test('counts a piece past 4 KiB by chunks, and past 64 KiB by their rate: within 1% of the encoding', () => {
  for (const word of [
    'abcdefghij'.repeat(2_000), // one 20 KB piece: five chunks
    'é'.repeat(10_000), // 2-byte characters: chunks cut between them, never inside
    'abcdefghij'.repeat(7_000), // 70 KB: 64 KiB merged, the rest estimated
  ]) {
    const exact = expected(word);
    expect(counter.count(word)).toBeGreaterThanOrEqual(exact * 0.99);
    expect(counter.count(word)).toBeLessThanOrEqual(exact * 1.01);
  }
  // A request body's worth of one "word" (4 MiB) is counted, not a hang (gpt-tokenizer: hours).
  expect(counter.count('abcdefghij'.repeat(400_000))).toBeGreaterThan(400_000);
});

/** The encoding's split pattern, as gpt-tokenizer gives it. */
const SPLIT = (
  require(
    path.join(path.dirname(require.resolve('gpt-tokenizer/package.json')), 'cjs/encodingParams/constants.js'),
  ) as { O200K_TOKEN_SPLIT_REGEX: RegExp }
).O200K_TOKEN_SPLIT_REGEX;

function piecesByPattern(text: string): string[] {
  return [...text.matchAll(new RegExp(SPLIT.source, SPLIT.flags))].map((m) => m[0]);
}

function piecesByAsciiSplit(text: string): string[] {
  const pieces: string[] = [];
  for (let i = 0, end = 0; i < text.length; i = end) {
    end = asciiPieceEnd(text, i);
    if (end <= i) throw new Error(`no progress at ${i} in ${JSON.stringify(text)}`);
    pieces.push(text.slice(i, end));
  }
  return pieces;
}

test.each([
  ["I'm sure they'll say it's what we've DONE, 'twas THEY'RE and x'Ll y'z"],
  ['HeLLo WORLDwide helloWorld ABCdef'],
  ['  two spaces, \t\ttabs\t \n\n  \r\n x  \n'],
  ['$5, 1234567 and 12 3 -- // ///\n\r/ !!\n?  ...x'],
  ['\u0000\u0007\u001f\u007f \u000b\u000c x\u000bx'],
  ['ends in spaces   '],
  ["'s 'S 'll at the start"],
])('the ASCII split cuts %j where the pattern does', (text) => {
  expect(piecesByAsciiSplit(text)).toEqual(piecesByPattern(text));
});

test('the ASCII split cuts random ASCII where the pattern does, and counts it as the encoding does', () => {
  // Every ASCII character, weighted towards the ones the pattern's alternatives turn on.
  const char = fc.oneof(
    fc.constantFrom(..."aZ9 \t\r\n'sdmtlLvVeErR/.,!?-".split('')),
    fc.integer({ min: 0, max: 127 }).map((c) => String.fromCharCode(c)),
  );
  fc.assert(
    fc.property(fc.array(char, { maxLength: 60 }), (chars) => {
      const text = chars.join('');
      expect(piecesByAsciiSplit(text)).toEqual(piecesByPattern(text));
      expect(counter.count(text)).toBe(expected(text));
    }),
    { numRuns: 5000 },
  );
});

test("a byte-order mark is the encoding's own token, where gpt-tokenizer splits it", () => {
  expect(counter.count('\uFEFF')).toBe(1);
  expect(counter.count('\uFEFFusing')).toBe(1);
  expect(expected('\uFEFFusing')).toBeGreaterThan(1);
});
