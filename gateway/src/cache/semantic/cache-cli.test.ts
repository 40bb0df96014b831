import { jest } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestServers } from '../../../../testkit/http-servers.js';
import { runCache } from './cache-cli.js';

const servers = new TestServers();
afterAll(() => servers.close());

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = jest.spyOn(process.stdout, 'write').mockImplementation((c) => (out.push(String(c)), true));
  const e = jest.spyOn(process.stderr, 'write').mockImplementation((c) => (err.push(String(c)), true));
  try {
    return { code: await runCache(argv, {}), out: out.join(''), err: err.join('') };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

describe('beastmode cache', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cache-cli-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('--help shows the usage and every flag', async () => {
    const r = await capture(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('Usage: beastmode cache eval --pairs');
    for (const flag of ['--insert-fraction', '--seed', '--thresholds', '--no-guard', '-h, --help']) {
      expect(r.out).toContain(flag);
    }
  });

  test('eval prints the report as one line of JSON', async () => {
    const file = join(dir, 'pairs.json');
    const pairs = [
      { origin: 'How do I bake sourdough bread at home?', similar: 'How do I bake sourdough bread at home?' },
      { origin: 'Set the retry limit to 3 attempts', similar: 'Set the retry limit to 5 attempts' },
    ];
    writeFileSync(file, JSON.stringify(pairs));
    const args = ['eval', '--pairs', file, '--insert-fraction', '1', '--thresholds', '0.5,0.9'];
    const guarded = await capture(args);
    expect(guarded.code).toBe(0);
    expect(guarded.out.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(guarded.out) as {
      pairs: number;
      thresholds: { threshold: number; correct: number }[];
    };
    expect(report).toMatchObject({ pairs: 2, inserted: 2 });
    expect(report.thresholds.map((t) => t.threshold)).toEqual([0.5, 0.9]);
    expect(Object.keys(report.thresholds[0]!)).toEqual(
      expect.arrayContaining(['threshold', 'correct', 'misdirected', 'wrong', 'lookupP50Ms', 'lookupP99Ms']),
    );
    expect(report.thresholds[0]!.correct).toBe(0.5);
    const unguarded = JSON.parse((await capture([...args, '--no-guard'])).out);
    expect(unguarded.thresholds[0].correct).toBe(1);
  });

  test('eval with an embeddings server embeds every text through it', async () => {
    const sim = await servers.sim();
    const file = join(dir, 'pairs-server.json');
    const pairs = [
      {
        origin: 'How do I bake sourdough bread at home?',
        similar: 'How can I bake sourdough bread at home?',
      },
      {
        origin: 'Which port does the metrics server listen on?',
        similar: 'What is the weather like in Paris?',
      },
    ];
    writeFileSync(file, JSON.stringify(pairs));
    const server = ['--embeddings-url', `${sim.url}/v1`, '--embeddings-model', 'lex', '--dimensions', '64'];
    const r = await capture([
      'eval',
      '--pairs',
      file,
      '--insert-fraction',
      '1',
      '--thresholds',
      '0.8',
      ...server,
    ]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.out) as { thresholds: { correct: number; misdirected: number }[] };
    // The paraphrase finds its origin; the unrelated question finds nothing.
    expect(report.thresholds[0]).toMatchObject({ correct: 0.5, misdirected: 0 });
    expect(sim.stats().byPath['/v1/embeddings']).toBe(1); // four texts, one batch
    await expect(capture(['eval', '--pairs', file, '--embeddings-url', `${sim.url}/v1`])).rejects.toThrow(
      /--embeddings-model is required/,
    );
  });

  test('names what is missing or wrong', async () => {
    expect((await capture([])).code).toBe(2);
    expect((await capture(['eval', '--bogus'])).code).toBe(2);
    await expect(capture(['eval'])).rejects.toThrow(/--pairs is required/);
    const bad = join(dir, 'bad.json');
    writeFileSync(bad, '{"origin": "a"}');
    await expect(capture(['eval', '--pairs', bad])).rejects.toThrow(/JSON array/);
  });
});
