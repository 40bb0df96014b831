import {
  DEFAULT_EMBED_OPTIONS,
  SEMANTIC_DIMS,
  dot,
  embedText,
  embedWith,
  stem,
  tokenize,
} from './embedder.js';

const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

describe('embedText', () => {
  test('returns unit-length vectors of SEMANTIC_DIMS, and zeros for a text without words', () => {
    for (const text of ['How do I reset my password?', 'naïve café — déjà vu', '`load_dataset()` 2.10.0']) {
      const v = embedText(text);
      expect(v).toHaveLength(SEMANTIC_DIMS);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(norm(embedText('  ?! '))).toBe(0);
  });

  test('is deterministic', () => {
    const text = 'What is the capital of France, and how many people live there?';
    expect(Array.from(embedText(text))).toEqual(Array.from(embedText(text)));
  });

  test('puts a paraphrase closer than an unrelated question', () => {
    const q = embedText('How do I cancel my subscription to the premium plan?');
    const paraphrase = embedText('What is the way to cancel a premium plan subscription?');
    const unrelated = embedText('Which river flows through the capital of Hungary?');
    expect(dot(q, paraphrase)).toBeGreaterThan(0.5);
    expect(dot(q, paraphrase)).toBeGreaterThan(dot(q, unrelated) + 0.3);
  });

  test('word order alone does not change the vector', () => {
    expect(dot(embedText('reset the router password'), embedText('password router reset the'))).toBeCloseTo(
      1,
      5,
    );
  });

  test('options change the vector size', () => {
    expect(embedWith('hello world', { ...DEFAULT_EMBED_OPTIONS, dims: 256 })).toHaveLength(256);
  });
});

describe('tokenize and stem', () => {
  test('splits contractions, keeps code and numbers whole', () => {
    const t = tokenize("It doesn't work with `load_dataset()` or my_module.run() in v2.10.0, can't you see?");
    expect(t.words).toEqual(expect.arrayContaining(['does', 'not', 'can', 'load', 'dataset']));
    expect(t.code).toEqual(expect.arrayContaining(['load_dataset', 'my_module.run']));
    expect(t.numbers).toContain('2.10.0');
  });

  test('strips plurals, -ing, -ed and -ly lightly', () => {
    expect(stem('datasets')).toBe(stem('dataset'));
    expect(stem('running')).toBe(stem('run'));
    expect(stem('loaded')).toBe(stem('loads'));
    expect(stem('quickly')).toBe('quick');
    expect(stem('class')).toBe('class');
  });
});
