// The router on prompt embeddings: its file is validated on load; `beastmode router train --embeddings-url`
// fits it on the embeddings an OpenAI-compatible server gives the rows' prompts (a simulator here, whose
// lexical embedding puts texts sharing words close together), and `eval` scores any rows through the same
// server. On rows where the words tell easy from hard, the trained router routes the easy ones weak.
import { jest } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { TestServers } from '../../../testkit/http-servers.js';
import { EmbeddingsError, fetchEmbeddings } from './embeddings-client.js';
import { runRouter } from './router-cli.js';
import {
  EMBEDDING_ROUTER_KIND,
  loadEmbeddingRouterModel,
  weakSufficesFromEmbedding,
} from './router-embeddings.js';

const servers = new TestServers();
afterEach(() => servers.close());

const file = (over: Record<string, unknown> = {}) => ({
  kind: EMBEDDING_ROUTER_KIND,
  version: 'e1',
  embeddingModel: 'lex',
  dimensions: 8,
  bias: 0,
  weights: [1, 0, 0, 0, 0, 0, 0, 0],
  calibration: [{ quality: 0.95, threshold: 0.5 }],
  ...over,
});

test('a file is refused unless it is a router on embeddings with one weight per dimension', () => {
  expect(() => loadEmbeddingRouterModel(file({ weights: [1, 2] }))).toThrow(/one entry per dimension/);
  expect(() => loadEmbeddingRouterModel(file({ kind: 'beastmode.dev/quality-cost-router' }))).toThrow(
    /not an embedding router model/,
  );
  const model = loadEmbeddingRouterModel(file());
  expect(weakSufficesFromEmbedding(model, [2, 0, 0, 0, 0, 0, 0, 0])).toBeCloseTo(1 / (1 + Math.exp(-2)));
  expect(() => weakSufficesFromEmbedding(model, [1, 2, 3])).toThrow(
    /3 dimensions, the router e1 was trained on 8/,
  );
});

test('the client says what was wrong: a status, a timeout', async () => {
  const sim = await servers.sim();
  const endpoint = { url: `${sim.url}/v1`, model: 'lex', dimensions: 16 };
  const [v] = await fetchEmbeddings(endpoint, ['hello world'], 1000);
  expect(v).toHaveLength(16);
  sim.setFaults({ errorRate: 1, errorStatus: 503 });
  await expect(fetchEmbeddings(endpoint, ['x'], 1000)).rejects.toThrow(/HTTP 503/);
  sim.setFaults({ latencyMs: 300 });
  const late = fetchEmbeddings(endpoint, ['x'], 20);
  await expect(late).rejects.toBeInstanceOf(EmbeddingsError);
  await expect(late).rejects.toMatchObject({ timedOut: true });
});

/** Eight subjects of 40 rows: prompts about adding small numbers the weak model gets right, proofs it does not. */
function rows(): string {
  const out: string[] = [];
  for (let s = 0; s < 8; s++)
    for (let i = 0; i < 40; i++) {
      const easy = i % 2 === 0;
      const prompt = easy
        ? `add the small numbers ${i} and ${s} together please`
        : `prove the theorem about compact operators on hilbert space number ${i} in subject ${s}`;
      out.push(
        JSON.stringify({
          benchmark: 'synthetic',
          subject: `s${s}`,
          prompt,
          weak_correct: easy,
          strong_correct: true,
        }),
      );
    }
  return `${out.join('\n')}\n`;
}

test('train and eval on embeddings from the server: the easy half goes weak at 95% quality', async () => {
  const sim = await servers.sim();
  const dir = mkdtempSync(path.join(tmpdir(), 'router-emb-'));
  const data = path.join(dir, 'rows.jsonl');
  const out = path.join(dir, 'model.json');
  writeFileSync(data, rows());
  const writes: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((t) => (writes.push(String(t)), true));
  const url = `${sim.url}/v1`;
  try {
    const trained = [
      'train',
      '--data',
      data,
      '--out',
      out,
      '--embeddings-url',
      url,
      '--embeddings-model',
      'lex',
    ];
    expect(await runRouter([...trained, '--dimensions', '256'], {})).toBe(0);
    expect(JSON.parse(writes.at(-1) ?? '{}')).toMatchObject({
      version: 'emb-v1',
      embeddingModel: 'lex',
      dimensions: 256,
    });
    const model = loadEmbeddingRouterModel(JSON.parse(readFileSync(out, 'utf8')));
    expect(model.dimensions).toBe(256);
    expect(
      await runRouter(
        ['eval', '--model', out, '--data', data, '--embeddings-url', url, '--dimensions', '256'],
        {},
      ),
    ).toBe(0);
  } finally {
    spy.mockRestore();
  }
  const report = JSON.parse(writes.at(-1) ?? '{}') as {
    embeddingModel: string;
    benchmarks: Record<
      string,
      { rows: number; weakShare: number; qualityKept: number; weakShareAtQuality95: number }
    >;
  };
  expect(report.embeddingModel).toBe('lex');
  const b = report.benchmarks.synthetic;
  expect(b?.rows).toBe(320);
  // Half the rows are easy: on the quality/cost curve the router sends nearly all of them weak at 95% of the
  // strong model's quality (random routing: 5%). At its own threshold — calibrated on one held-out subject
  // to spend the whole 5% budget — it lets a few hard prompts of the other subjects through.
  expect(b?.weakShareAtQuality95).toBeGreaterThan(0.45);
  expect(b?.weakShare).toBeGreaterThan(0.45);
  expect(b?.qualityKept).toBeGreaterThan(0.9);
});
