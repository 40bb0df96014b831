// The quality/cost router's parts: data cleaning and subject folds, the evaluation's arithmetic on rows
// small enough to count by hand, model validation and features, training on a signal it must find, and
// the CLI from rows to a model file to its evaluation JSON.
import { jest } from '@jest/globals';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanRows, misgradedSubjects, parseRows, subjectFolds, type RouterRow } from './router-data.js';
import { evaluateScored } from './router-eval.js';
import { runRouter } from './router-cli.js';
import { loadRouterModel, thresholdFor, weakSuffices } from './router-model.js';
import { featureSet, routerFeatures } from './router-features.js';
import { DEFAULT_TRAIN, trainRouter } from './router-train.js';

const row = (
  subject: string,
  weak: boolean,
  strong: boolean,
  prompt = 'q',
  benchmark = 'mmlu',
): RouterRow => ({
  benchmark,
  subject,
  prompt,
  weak_correct: weak,
  strong_correct: strong,
});

/** Runs `fn` with stdout captured; returns what it wrote. */
async function captureStdout(fn: () => Promise<void>): Promise<string[]> {
  const writes: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((t) => {
    writes.push(String(t));
    return true;
  });
  try {
    await fn();
  } finally {
    spy.mockRestore();
  }
  return writes;
}

describe('router data', () => {
  test('a subject the strong model almost always fails while the weak one does better is misgraded', () => {
    const rows = [
      ...Array.from({ length: 60 }, (_, i) => row('broken', i < 20, i < 2)),
      ...Array.from({ length: 60 }, (_, i) => row('hard', i < 3, i < 5)),
      ...Array.from({ length: 20 }, () => row('small', true, false)),
    ];
    expect(misgradedSubjects(rows)).toEqual(['mmlu/broken']);
    const clean = cleanRows(rows);
    expect(clean.dropped).toEqual(['mmlu/broken']);
    expect(clean.rows).toHaveLength(80);
  });

  test('folds hold whole subjects, the same every run', () => {
    const rows = ['a', 'b', 'c', 'd', 'e'].flatMap((s) => [row(s, true, true), row(s, false, true)]);
    const folds = subjectFolds(rows, 2);
    const subjects = folds.map((f) => new Set(f.map((r) => r.subject)));
    expect([...(subjects[0] ?? [])].sort()).toEqual(['a', 'c', 'e']);
    expect([...(subjects[1] ?? [])].sort()).toEqual(['b', 'd']);
    expect(subjectFolds(rows, 2)).toEqual(folds);
  });

  test('parses JSONL and names a bad line', () => {
    const good = JSON.stringify(row('s', true, false));
    expect(parseRows(`${good}\n\n${good}\n`)).toHaveLength(2);
    expect(() => parseRows(`${good}\n{"benchmark":"x"}`)).toThrow(/line 2/);
    expect(() => parseRows('nope')).toThrow(/line 1: not JSON/);
  });
});

describe('router evaluation', () => {
  // Ten rows: weak right on 6, strong right on 8. The router's scores put the weak-right rows first.
  const rows = [
    row('s', true, true),
    row('s', true, true),
    row('s', true, false),
    row('s', true, true),
    row('s', true, true),
    row('s', true, true),
    row('s', false, true),
    row('s', false, true),
    row('s', false, false),
    row('s', false, true),
  ];
  const scores = [0.9, 0.85, 0.8, 0.75, 0.7, 0.65, 0.4, 0.3, 0.2, 0.1];

  test('weak share, quality kept and cost at the threshold; random and oracle read off their curves', () => {
    const report = evaluateScored(
      rows.map((r, i) => ({ row: r, p: scores[i] ?? 0, threshold: 0.5 })),
      10,
      200,
    );
    const b = report.benchmarks.mmlu;
    expect(b?.rows).toBe(10);
    expect(b?.weakShare).toBeCloseTo(0.6);
    // Weak on the first six (6 right) + strong on the last four (3 right) = 9, over strong's 8.
    expect(b?.qualityKept).toBeCloseTo(9 / 8);
    // Six requests at price 1, four at 10, against ten at 10.
    expect(b?.costSaved).toBeCloseTo(1 - (6 + 40) / 100);
    // Seven first: the seventh is wrong on weak but the third, right on weak only, made up for it (8/8).
    expect(b?.weakShareAtQuality95).toBeCloseTo(0.7);
    // Random: quality s·0.6/0.8 + (1 − s) ≥ 0.95 → s ≤ 0.2.
    expect(b?.randomWeakShareAtQuality95).toBeCloseTo(0.2);
    // Oracle: the seven rows weak loses nothing on (quality 9/8), then one it does (8/8): 0.8.
    expect(b?.oracleWeakShareAtQuality95).toBeCloseTo(0.8);
    expect(b?.intervals.weakShare.low).toBeLessThanOrEqual(0.6);
    expect(b?.intervals.weakShare.high).toBeGreaterThanOrEqual(0.6);
    expect(b?.curve[0]).toEqual({ weakShare: 0, qualityKept: 1, costSaved: 0 });
  });
});

describe('router model', () => {
  test('refuses a file that is not a model, naming the field', () => {
    expect(() => loadRouterModel({ kind: 'x' })).toThrow(/not a router model/);
    const ok = {
      kind: 'beastmode.dev/quality-cost-router',
      version: 'v1',
      families: ['cues'],
      buckets: 1024,
      bias: 0,
      weights: [[5000, 1]],
      calibration: [{ quality: 1, threshold: 1 }],
    };
    expect(() => loadRouterModel(ok)).toThrow(/beyond buckets/);
    expect(() => loadRouterModel({ ...ok, buckets: 1000, weights: [] })).toThrow(/power of two/);
    expect(loadRouterModel({ ...ok, weights: [[3, 0.5]] }).version).toBe('v1');
  });

  test('features are the same for the same prompt, bounded, and cheap for a long one', () => {
    const f = featureSet(['words', 'bigrams', 'trigrams', 'cues']);
    const prompt = 'Solve 3x + 4 = 19 for x.\nA. 3\nB. 5\nC. 7\nD. 9\nAnswer:';
    expect([...routerFeatures(prompt, 4095, f)]).toEqual([...routerFeatures(prompt, 4095, f)]);
    for (const [k] of routerFeatures(prompt, 4095, f)) expect(k).toBeLessThanOrEqual(4095);
    const long = 'word '.repeat(50_000);
    // Read up to 2,000 characters: a huge prompt costs what a 2,000-character one does.
    expect(routerFeatures(long, 4095, f).size).toBeLessThan(50);
  });

  test('the threshold for a quality is the lowest one whose calibrated quality reaches it', () => {
    const model = loadRouterModel({
      kind: 'beastmode.dev/quality-cost-router',
      version: 'v1',
      families: ['cues'],
      buckets: 1024,
      bias: 0,
      weights: [],
      calibration: [
        { quality: 1, threshold: 1 },
        { quality: 0.97, threshold: 0.7 },
        { quality: 0.95, threshold: 0.6 },
        { quality: 0.96, threshold: 0.55 },
        { quality: 0.9, threshold: 0.4 },
      ],
    });
    expect(thresholdFor(model, 0.95)).toBe(0.55);
    expect(thresholdFor(model, 0.99)).toBe(1);
    expect(thresholdFor(model, 0.5)).toBe(0.4);
  });
});

describe('router training', () => {
  // Prompts with "easy" are answered by both models; prompts with "proof" only by the strong one. Eight
  // subjects, so that whole subjects can be held out for calibration.
  const rows = Array.from({ length: 8 }, (_, s) =>
    Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0
        ? row(`s${s}`, true, true, `easy question number ${i} about topic ${s}`)
        : row(`s${s}`, false, true, `a hard proof question ${i}: prove the lemma on topic ${s}`),
    ),
  ).flat();

  test('learns a signal that holds across subjects, and calibrates on subjects it did not fit', () => {
    const t = trainRouter(rows, {
      ...DEFAULT_TRAIN,
      families: ['words', 'cues'],
      epochs: 4,
      learningRate: 0.2,
    });
    expect(t.fitRows + t.calibrationRows).toBe(rows.length);
    expect(t.calibrationRows).toBe(80); // two of eight subjects
    const model = loadRouterModel(t.model);
    const easy = weakSuffices(model, 'easy question number 99 about topic 42');
    const hard = weakSuffices(model, 'a hard proof question 99: prove the lemma on topic 42');
    expect(easy).toBeGreaterThan(0.8);
    expect(hard).toBeLessThan(0.2);
    // On the calibration subjects the easy half goes weak at no quality cost: the threshold for full
    // quality sits between the hard prompts' scores and the easy ones'.
    const threshold = thresholdFor(model, 1);
    expect(threshold).toBeGreaterThan(hard);
    expect(threshold).toBeLessThan(easy + 0.05);
  });

  /** Runs `fn` with the rows in a file (`data`) and a path for a model (`out`) in a directory it removes. */
  async function withRowsFile(fn: (data: string, out: string) => Promise<void>): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'router-'));
    try {
      const data = join(dir, 'rows.jsonl');
      writeFileSync(data, rows.map((r) => JSON.stringify(r)).join('\n'));
      await fn(data, join(dir, 'model.json'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test('the CLI trains a model file and evaluates it to the JSON scripts read', async () => {
    await withRowsFile(async (data, out) => {
      const writes = await captureStdout(async () => {
        expect(await runRouter(['train', '--data', data, '--out', out], {})).toBe(0);
        expect(await runRouter(['eval', '--model', out, '--data', data, '--quality', '1'], {})).toBe(0);
      });
      expect(JSON.parse(readFileSync(out, 'utf8'))).toMatchObject({
        kind: 'beastmode.dev/quality-cost-router',
      });
      const report = JSON.parse(writes.at(-1) ?? '{}') as {
        benchmarks: Record<string, Record<string, number>>;
      };
      const mmlu = report.benchmarks.mmlu ?? {};
      for (const k of [
        'rows',
        'weakShare',
        'qualityKept',
        'costSaved',
        'weakShareAtQuality95',
        'randomWeakShareAtQuality95',
        'oracleWeakShareAtQuality95',
      ])
        expect(typeof mmlu[k]).toBe('number');
      expect(mmlu.rows).toBe(320);
      expect(mmlu.qualityKept).toBeGreaterThanOrEqual(0.95);
      expect(mmlu.weakShare).toBeGreaterThan(0.3);
    });
  });

  test('the CLI replays rows through the static and the learning router to the JSON scripts read', async () => {
    await withRowsFile(async (data, out) => {
      const writes = await captureStdout(async () => {
        expect(await runRouter(['train', '--data', data, '--out', out], {})).toBe(0);
        const replay = ['replay', '--model', out, '--data', data, '--feedback-rate', '0.5'];
        expect(await runRouter(replay, {})).toBe(0);
      });
      const report = JSON.parse(writes.at(-1) ?? '{}') as {
        rows: number;
        feedback: number;
        static: Record<string, number>;
        learning: Record<string, number>;
      };
      expect(report.rows).toBe(rows.length);
      expect(report.feedback).toBeGreaterThan(rows.length * 0.3);
      expect(report.feedback).toBeLessThan(rows.length * 0.7);
      for (const k of ['weakShare', 'qualityKept', 'regret']) {
        expect(report.static[k]).toBeGreaterThanOrEqual(0);
        expect(report.learning[k]).toBeGreaterThanOrEqual(0);
      }
      expect(report.learning.weakShare).toBeLessThanOrEqual(1);
    });
  });

  test('a replay without --data, or an unknown subcommand, is refused', async () => {
    const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await expect(runRouter(['replay'], {})).rejects.toThrow(/--data is required/);
      expect(await runRouter(['bogus'], {})).toBe(2);
    } finally {
      err.mockRestore();
    }
  });
});

test('every cue can fire on the lower-cased text', () => {
  const cuesOf = (t: string) => new Set(routerFeatures(t, (1 << 20) - 1, featureSet(['cues'])).keys());
  const plain = cuesOf('hello');
  const withOptions = cuesOf('Pick one:\nA. yes\nB. no');
  // Options (and lines, length) add buckets a plain greeting does not have.
  expect([...withOptions].filter((k) => !plain.has(k)).length).toBeGreaterThanOrEqual(2);
  expect(cuesOf('```\ndef f():\n  return 1\n```').size).toBeGreaterThan(plain.size);
  expect(cuesOf('Solve 3x + 4 = 19?').size).toBeGreaterThan(plain.size);
});

test('trigram buckets are FNV-1a of the trigram text, seeded by its family', () => {
  const fnv = (t: string, seed: number) => {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let k = 0; k < t.length; k++) h = Math.imul(h ^ t.charCodeAt(k), 0x01000193) >>> 0;
    return h;
  };
  const keys = [...routerFeatures('abcd', 1023, featureSet(['trigrams'])).keys()].sort();
  expect(keys).toEqual([fnv('abc', 3) & 1023, fnv('bcd', 3) & 1023].sort());
});

// The bundled model is generated: retraining it on the data set must give the file that ships. Skipped where
// the data set is not checked out beside the repository.
const DATA = join(process.cwd(), '..', 'shared', 'data', 'routing', 'routellm-train.jsonl');
(existsSync(DATA) ? test : test.skip)(
  'the bundled model is what `beastmode router train` makes of the data set',
  async () => {
    const { QUALITY_COST_V1 } = await import('./models/quality-cost-v1.js');
    const trained = trainRouter(parseRows(readFileSync(DATA, 'utf8')));
    expect(JSON.stringify(trained.model)).toBe(QUALITY_COST_V1);
  },
  60_000,
);

// The request path hashes tokens as it scans (no strings); the features must be those of the regex
// tokenizer the models were trained with: runs of [a-z0-9], or one character that is neither nor \s.
test('the token scanner gives the features of the regex tokenizer, Unicode spaces and symbols included', () => {
  const fnv = (t: string, seed: number) => {
    let h = (0x811c9dc5 ^ seed) >>> 0;
    for (let k = 0; k < t.length; k++) h = Math.imul(h ^ t.charCodeAt(k), 0x01000193) >>> 0;
    return h;
  };
  const reference = (prompt: string, mask: number) => {
    const words = prompt.toLowerCase().match(/[a-z0-9]+|[^\sa-z0-9]/g) ?? [];
    const out = new Map<number, number>();
    const scale = 1 / Math.sqrt(Math.max(1, words.length));
    words.forEach((w, i) => {
      const add = (k: number) => out.set(k, (out.get(k) ?? 0) + scale);
      add(fnv(w, 1) & mask);
      if (i > 0) add(fnv(`${words[i - 1]} ${w}`, 2) & mask);
    });
    return out;
  };
  const samples = [
    'Hello, World! 3x+4=19?',
    'naïve café — déjà vu\u00a0non\u2003breaking\u3000spaces\ufefftoo',
    '  leading and trailing  ',
    'emoji 🙂 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢, tabs\tand\nnew\r\nlines',
    'ÉCOLE İstanbul ß',
    '',
    '(a) b) c. d: ```code``` x_y-z',
  ];
  for (const s of samples)
    expect(routerFeatures(s, 4095, featureSet(['words', 'bigrams']))).toEqual(reference(s, 4095));
});
