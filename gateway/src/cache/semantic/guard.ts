// The semantic cache's guard: a lexical embedding scores "how to read a CSV file in 2 lines" and "how to
// read a CSV file in 20 lines" as near-identical, yet the cached answer to one is wrong for the other. Before
// a cached answer is served for a similar (not identical) prompt, guardRefusal compares what a paraphrase
// keeps and a different question changes, and names the first difference:
//   numbers differ    the sets of numbers (digits or counting words) differ (sets, not multisets: a list
//                     numbered 1) 2) or code repeating a constant is no different question);
//   negation differs  one negates (not, no, never, n't, without, none, cannot, …) and the other does not;
//   entities differ   a name (a capitalised word not opening a sentence, an acronym, a `backticked` or
//                     "quoted" identifier, a code token) of one appears nowhere in the other, in any case or
//                     form, and the other likewise has a name of its own (a substitution, not an omission);
//   format differs    the output asked for differs (JSON, YAML, CSV, a table, a bulleted list, code, N words
//                     or sentences, a natural or programming language "in French", "in Python").
// Each check is measured on the paraphrase pairs (see eval.ts): it must refuse far more wrong hits than it
// costs correct ones.
import { stem, tokenize, isStopword } from './embedder.js';

export type GuardCheck = 'numbers' | 'negation' | 'entities' | 'format';

/** Every check, in the order they are tried. */
export const GUARD_CHECKS: readonly GuardCheck[] = ['numbers', 'negation', 'format', 'entities'];

// Counting words a paraphrase may write for a digit. Ordinals, "one" (often a pronoun) and vague magnitudes
// ("thousands of files") are left out.
const NUMBER_WORDS = new Map(
  'two three four five six seven eight nine ten eleven twelve'.split(' ').map((w, i) => [w, String(i + 2)]),
);

/** The distinct numbers of a text, digits and counting words alike, sorted. */
export function numbersOf(text: string): string[] {
  const { words, numbers } = tokenize(text);
  const found = new Set(numbers);
  for (const w of words) {
    const n = NUMBER_WORDS.get(w);
    if (n !== undefined) found.add(n);
  }
  return [...found].sort();
}

const NEGATIONS = new Set([
  'not',
  'no',
  'never',
  'none',
  'cannot',
  'nothing',
  'nobody',
  'neither',
  'nor',
  'nowhere',
  'unable',
]);

/** Whether a text negates: one or more negation words (n't counts as not; "not only" does not count). */
export function negates(text: string): boolean {
  const words = tokenize(text).words;
  return words.some((w, i) => NEGATIONS.has(w) && !(w === 'not' && words[i + 1] === 'only'));
}

const SENTENCE_END = /[.!?:;]["'”’)\]]*$/;
const CAPITALISED = /^[("'“‘[]*(\p{Lu}[\p{L}\p{N}]*)/u;
const QUOTED = /["“]([^"”\n]{1,60})["”]/g;

/** The names a text mentions, normalised for matching: lower-cased, stemmed words and code tokens. */
export function entitiesOf(text: string): string[] {
  const names = new Set<string>(tokenize(text).code);
  for (const m of text.matchAll(QUOTED)) {
    const q = m[1]!.trim().toLowerCase();
    if (/^[\p{L}\p{N}_.\-/]+$/u.test(q)) names.add(q);
  }
  const chunks = text.split(/\s+/).filter((c) => c !== '');
  chunks.forEach((chunk, i) => {
    const m = CAPITALISED.exec(chunk);
    if (m === null) return;
    const word = m[1]!;
    const opensSentence = i === 0 || SENTENCE_END.test(chunks[i - 1]!);
    const acronym = word.length > 1 && word === word.toUpperCase() && /\p{Lu}/u.test(word.slice(1));
    const innerCapital = /\p{Ll}\p{Lu}/u.test(word);
    if (isStopword(word.toLowerCase())) return;
    if (opensSentence && !acronym && !innerCapital) return;
    names.add(stem(word.toLowerCase()));
  });
  return [...names];
}

/** A text's form for "does it mention this name": lower-cased, quotes and backticks dropped. */
function searchable(text: string): string {
  return text.toLowerCase().replace(/[`"“”'‘’]/g, '');
}

const LANGUAGES =
  'english|french|spanish|german|italian|portuguese|dutch|russian|chinese|mandarin|japanese|korean|arabic|' +
  'hindi|turkish|polish|swedish|norwegian|danish|finnish|greek|hebrew|ukrainian|vietnamese|thai|indonesian|' +
  'python|javascript|typescript|java|kotlin|swift|rust|golang|ruby|php|c\\+\\+|c#|scala|haskell|bash|sql';

const FORMAT_CUES: [RegExp, (m: RegExpMatchArray) => string][] = [
  [
    /\b(json|yaml|yml|csv|tsv|xml|html|markdown|latex|toml)\b/gi,
    (m) => m[1]!.toLowerCase().replace('yml', 'yaml'),
  ],
  [/\b(table|tabular)\b/gi, () => 'table'],
  [
    /\b(bullet(?:ed)?|numbered|bulleted)(?: points?| list)?\b|\bas an? list\b|\bin an? list\b/gi,
    () => 'list',
  ],
  [/\b(code (?:only|snippet|example|block|sample)s?|show (?:me )?(?:the )?code)\b/gi, () => 'code'],
  [
    /\b(\d+|one|two|three|four|five|six|seven|eight|nine|ten)\s+(words?|sentences?|paragraphs?|lines?|bullets?|points?|items?)\b/gi,
    (m) => `${m[1]!.toLowerCase()} ${stem(m[2]!.toLowerCase())}`,
  ],
  [
    new RegExp(`\\b(?:in|into|to|using)\\s+(${LANGUAGES})(?![\\w+#])`, 'gi'),
    (m) => `in ${m[1]!.toLowerCase()}`,
  ],
];

/** The output formats a text asks for (or mentions), as a sorted set of cues. */
export function formatsOf(text: string): string[] {
  const cues = new Set<string>();
  for (const [pattern, cue] of FORMAT_CUES) for (const m of text.matchAll(pattern)) cues.add(cue(m));
  return [...cues].sort();
}

interface Profile {
  numbers: string;
  negates: boolean;
  entities: string[];
  searchable: string;
  formats: string;
}

function profileOf(text: string): Profile {
  return {
    numbers: numbersOf(text).join(' '),
    negates: negates(text),
    entities: entitiesOf(text),
    searchable: searchable(text),
    formats: formatsOf(text).join(' '),
  };
}

// Cached entries are compared again and again: their profiles are kept (a bounded, oldest-first memo).
const MEMO_LIMIT = 4096;
const memo = new Map<string, Profile>();

function remembered(text: string): Profile {
  let p = memo.get(text);
  if (p === undefined) {
    p = profileOf(text);
    if (memo.size >= MEMO_LIMIT) memo.delete(memo.keys().next().value!);
    memo.set(text, p);
  }
  return p;
}

/** The names of a that appear nowhere in b's text. */
const missing = (a: Profile, b: Profile): boolean =>
  a.entities.some((name) => !b.searchable.includes(name.replace(/[`"“”'‘’]/g, '')));

const CHECKS: Record<GuardCheck, (q: Profile, c: Profile) => string | undefined> = {
  numbers: (q, c) => (q.numbers === c.numbers ? undefined : 'numbers differ'),
  negation: (q, c) => (q.negates === c.negates ? undefined : 'negation differs'),
  entities: (q, c) => (missing(q, c) && missing(c, q) ? 'entities differ' : undefined),
  format: (q, c) => (q.formats === c.formats ? undefined : 'format differs'),
};

/** The guard with a chosen set of checks (for measuring each check's effect). */
export function guardRefusalWith(
  query: string,
  cached: string,
  checks: readonly GuardCheck[],
): string | undefined {
  const q = profileOf(query);
  const c = remembered(cached);
  for (const check of checks) {
    const reason = CHECKS[check](q, c);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/**
 * Whether the answer cached for `cached` may be served for `query`: undefined when it may, else a short
 * reason ('numbers differ', 'negation differs', 'entities differ', 'format differs').
 */
export function guardRefusal(query: string, cached: string): string | undefined {
  return guardRefusalWith(query, cached, GUARD_CHECKS);
}
