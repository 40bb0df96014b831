// The semantic index: searches see one partition only, return entries at or above the threshold best
// first, drop expired ones, cap each route's entries (least recently hit first), forget on request, and
// past the exhaustive size find the near entries through their shared rare words (and, for dense vectors,
// their hyperplane buckets).
import { embedText } from './embedder.js';
import { SemanticIndex, wordHashes, type IndexedEntry } from './semantic-index.js';

const entry = (key: string, text: string, expiresAt = 1e12): IndexedEntry => ({
  key,
  producer: 'p1',
  text,
  vector: embedText(text),
  expiresAt,
});

const Q = 'How do I shuffle the rows of a dataset with a fixed seed?';

test('only the partition searched, only at or above the threshold, best first', () => {
  const index = new SemanticIndex();
  index.add('r', 'a', entry('k1', 'How can I shuffle the rows of a dataset with a fixed seed?'), 10);
  index.add('r', 'a', entry('k2', 'How do I shuffle rows of datasets using a seed?'), 10);
  index.add('r', 'a', entry('k3', 'What is the capital of France?'), 10);
  index.add('r', 'b', entry('k4', Q), 10);
  const found = index.search('a', Q, embedText(Q), 0.5, 0);
  expect(found.map((f) => f.entry.key)).toEqual(['k1', 'k2']);
  expect(found[0]!.similarity).toBeGreaterThan(found[1]!.similarity);
  expect(index.search('c', Q, embedText(Q), 0, 0)).toEqual([]);
  expect(index.search('b', Q, embedText(Q), 0.99, 0).map((f) => f.entry.key)).toEqual(['k4']);
});

test('expired entries are dropped; each route keeps its cap, least recently hit leaving first', () => {
  const index = new SemanticIndex();
  index.add('r', 'a', entry('old', Q, 100), 10);
  expect(index.search('a', Q, embedText(Q), 0.5, 99)).toHaveLength(1);
  expect(index.search('a', Q, embedText(Q), 0.5, 100)).toHaveLength(0);
  expect(index.size()).toBe(0);
  index.add('r', 'a', entry('k1', `${Q} one`), 2);
  index.add('r', 'b', entry('k2', `${Q} two`), 2);
  const [hit] = index.search('a', Q, embedText(Q), 0.5, 0);
  index.touch(hit!.entry); // k1 is now the most recently used
  index.add('r', 'c', entry('k3', `${Q} three`), 2);
  expect(index.search('b', Q, embedText(Q), 0.5, 0)).toEqual([]); // k2 left
  expect(index.search('a', Q, embedText(Q), 0.5, 0)).toHaveLength(1);
  index.add('other', 'd', entry('k4', Q), 2); // another route's cap is its own
  expect(index.size()).toBe(3);
  index.retain(new Set(['other']));
  expect(index.size()).toBe(1);
});

test('the same key again replaces its entry; a removed entry is never found', () => {
  const index = new SemanticIndex();
  index.add('r', 'a', entry('k1', Q), 10);
  index.add('r', 'a', entry('k1', Q), 10);
  expect(index.size()).toBe(1);
  const [hit] = index.search('a', Q, embedText(Q), 0.5, 0);
  index.remove(hit!.entry);
  expect(index.search('a', Q, embedText(Q), 0.5, 0)).toEqual([]);
  expect(index.size()).toBe(0);
});

test('a large partition finds near entries through their rarest shared words, as an exhaustive search would', () => {
  const index = new SemanticIndex();
  const topics = ['tokenizer', 'parquet', 'streaming', 'shuffle', 'metric', 'pipeline', 'upload', 'schema'];
  const texts: string[] = [];
  for (let i = 0; i < 5000; i++) {
    const t = `How do I use the ${topics[i % topics.length]} option number${i} of the library with care?`;
    texts.push(t);
    index.add('r', 'a', entry(`k${i}`, t), 100_000);
  }
  for (const i of [0, 17, 2500, 4999]) {
    const q = texts[i]!.replace('How do I use', 'How can I use');
    const [best] = index.search('a', q, embedText(q), 0.8, 0);
    expect(best?.entry.key).toBe(`k${i}`);
  }
  // Word hashes are per distinct word, case-insensitive.
  expect(wordHashes('The the THE cat')).toHaveLength(2);
});

test('a dense partition (an embeddings server’s vectors) is searched exhaustively past the lexical limit', () => {
  const index = new SemanticIndex();
  let seed = 11;
  const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const unit = (v: Float32Array) => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => x / n);
  };
  const vectors = Array.from({ length: 1500 }, () => unit(Float32Array.from({ length: 48 }, random)));
  vectors.forEach((vector, i) =>
    index.add(
      'r',
      'd',
      { key: `k${i}`, producer: 'p', text: `entry ${i}`, vector, expiresAt: i === 7 ? 50 : 1e12 },
      10_000,
      true,
    ),
  );
  // Texts that share no word with the entries' still find them: no word index stands in between.
  for (let i = 0; i < 1500; i += 15)
    expect(index.search('d', 'unrelated words', vectors[i]!, 0.99, 0)[0]?.entry.key).toBe(`k${i}`);
  expect(index.search('d', '', vectors[7]!, 0.99, 100)).toEqual([]); // expired, dropped
  expect(index.size()).toBe(1499);
});

test('past the dense limit, a close vector that shares no word is found through its hyperplane buckets', () => {
  let seed = 23;
  const random = () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const unit = (v: Float32Array) => {
    const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    return v.map((x) => x / n);
  };
  const vectors = Array.from({ length: 6000 }, () => unit(Float32Array.from({ length: 64 }, random)));
  // Each query: an entry's vector moved by a little noise (cosine ~0.95), worded with none of its words.
  const queries = Array.from({ length: 60 }, (_, j) => {
    const target = vectors[j * 100]!;
    return unit(target.map((x) => x + 0.045 * random()));
  });
  const fill = (dense: boolean) => {
    const index = new SemanticIndex();
    vectors.forEach((vector, i) =>
      index.add(
        'r',
        'd',
        { key: `k${i}`, producer: 'p', text: `entry ${i}`, vector, expiresAt: 1e12 },
        10_000,
        dense,
      ),
    );
    return index;
  };
  const found = (index: SemanticIndex) =>
    queries.filter((q, j) => index.search('d', 'other words', q, 0.9, 0)[0]?.entry.key === `k${j * 100}`)
      .length;
  const cosine = queries[0]!.reduce((s, x, i) => s + x * vectors[0]![i]!, 0);
  expect(cosine).toBeGreaterThan(0.9); // else the test proves nothing
  // The word index alone (a partition of the built-in embedder's vectors) finds none of them.
  expect(found(fill(false))).toBe(0);
  expect(found(fill(true))).toBeGreaterThanOrEqual(57);
});
