// Floods of unique values — API keys, model names, prompts, `user` fields, request ids, feedback ids — must
// not grow anything without bound: every per-request structure is keyed by what the config declares (routes,
// backends, key names) or capped (the caches, the recent-requests ring, the feedback ledger). Measured over
// real HTTP in three rounds of fresh unique values: the second and third add no metric series, the exact
// cache holds no more than its cap, and the heap after a full collection grows by no more than the capped structures fill.
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { createLogger } from '../log.js';
import { startGateway, type Gateway } from './gateway.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import { policyConfig, tempDir, writeKeys } from '../../../testkit/policy-http.js';

const KEY = 'sk-flood-0123456789abcdef0123';
const CACHE_CAP = 100;
const PER_KIND = 400;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

let sim: Simulator;
let gw: Gateway;

beforeAll(async () => {
  sim = await startSimulator();
  const keysFile = path.join(tempDir(), 'keys.yaml');
  writeKeys(keysFile, [{ name: 'flood', key: KEY, team: 'load' }]);
  const route = compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }], {
    cache: { mode: 'exact' as const, ttlMs: 600_000, scope: 'api-key', cacheNonDeterministic: false },
    rateLimits: [{ per: 'api-key', requestsPerMinute: 1_000_000 }],
  });
  const cfg = policyConfig({ routes: [route], keysFile });
  gw = await startGateway({
    source: { config: { ...cfg, cache: { ...cfg.cache, maxEntries: CACHE_CAP } } },
    logger: createLogger('error', true),
    policy: { keysFile: () => keysFile, keysPollMs: 50 },
  });
  await gw.state.policy.ready();
});

afterAll(async () => {
  await gw?.close(2000);
  await sim?.close();
});

interface Answer {
  status: number;
  cache: string | null;
  id: string | null;
}

async function post(pathname: string, body: unknown, headers: Record<string, string>): Promise<Answer> {
  const r = await fetch(`${gw.url}${pathname}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body: JSON.stringify(body),
  });
  const text = await r.text();
  const id = r.status === 200 ? ((JSON.parse(text) as { id?: string }).id ?? null) : null;
  return { status: r.status, cache: r.headers.get(HEADERS.cache), id };
}

const ask = (content: string, extra: Record<string, unknown> = {}) => ({
  model: 'chat',
  messages: [{ role: 'user', content }],
  temperature: 0,
  ...extra,
});

/** Runs `n` calls of `one` with 16 in flight; returns the statuses counted. */
async function flood(n: number, one: (i: number) => Promise<Answer>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const a = await one(next++);
      counts.set(a.status, (counts.get(a.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return counts;
}

/** One round of unique values of every kind; `r` makes them unique across rounds. */
async function round(r: number): Promise<void> {
  const badKeys = await flood(PER_KIND, (i) =>
    post('/v1/chat/completions', ask('hello'), {
      authorization: `Bearer sk-bogus-${r}-${i}-${'x'.repeat(40)}`,
    }),
  );
  expect(Object.fromEntries(badKeys)).toEqual({ 401: PER_KIND });
  const models = await flood(PER_KIND, (i) =>
    post('/v1/chat/completions', { ...ask('hello'), model: `model-${r}-${i}` }, {}),
  );
  expect(Object.fromEntries(models)).toEqual({ 404: PER_KIND });
  const prompts = await flood(PER_KIND, (i) =>
    post(
      '/v1/chat/completions',
      ask(`question ${r}-${i}: ${'why '.repeat(20)}`, { user: `user-${r}-${i}` }),
      {
        'x-request-id': `req-${r}-${i}`,
        'x-forwarded-for': `10.${r}.${i >> 8}.${i & 255}`,
      },
    ),
  );
  expect(Object.fromEntries(prompts)).toEqual({ 200: PER_KIND });
  const feedback = await flood(PER_KIND, (i) =>
    post('/v1/feedback', { request_id: `unknown-${r}-${i}`, score: 1 }, {}),
  );
  expect(Object.fromEntries(feedback)).toEqual({ 404: PER_KIND });
}

/**
 * The gateway's own series on /metrics: each sample line's name and labels, without its value. The
 * process metrics (`nodejs_*`, `process_*`) are left out: their label sets are fixed by prom-client and
 * appear as the process does things unrelated to requests (the first major collection, a file read of the
 * keys file's poll).
 */
async function series(): Promise<Set<string>> {
  const text = await (await fetch(`${gw.url}/metrics`)).text();
  const lines = text
    .split('\n')
    .filter((l) => l !== '' && !l.startsWith('#') && !/^(nodejs|process)_/.test(l));
  return new Set(lines.map((l) => l.slice(0, l.lastIndexOf(' '))));
}

function heapAfterCollection(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

test('three rounds of unique keys, models, prompts, users and ids add no series and no heap', async () => {
  await round(0);
  const series1 = await series();
  const heap1 = heapAfterCollection();
  await round(1);
  await round(2);
  const series3 = await series();
  const heap3 = heapAfterCollection();
  const growthMiB = (heap3 - heap1) / 2 ** 20;
  process.stdout.write(
    `unique floods: ${3 * 4 * PER_KIND} requests; series ${series1.size} -> ${series3.size}; ` +
      `heap after a full collection ${(heap1 / 2 ** 20).toFixed(1)} -> ${(heap3 / 2 ** 20).toFixed(1)} MiB\n`,
  );
  expect([...series3].filter((x) => !series1.has(x))).toEqual([]);
  // 3,200 requests after the first round: a leak of 1 KiB each would be 3 MiB. The 800 answered ones are
  // remembered for feedback in the recent-requests ring (capped at 100,000) and the capped cache; refused
  // ones leave nothing.
  expect(growthMiB).toBeLessThan(2);
}, 120_000);

test('the exact cache keeps its cap under unique prompts: the oldest are gone, the newest still hit', async () => {
  const prompt = (i: number) => ask(`capped ${i}: ${'how '.repeat(10)}`);
  const n = CACHE_CAP * 3;
  for (let i = 0; i < n; i++) expect((await post('/v1/chat/completions', prompt(i), {})).status).toBe(200);
  expect((await post('/v1/chat/completions', prompt(n - 1), {})).cache).toBe('hit');
  expect((await post('/v1/chat/completions', prompt(0), {})).cache).toBe('miss');
}, 60_000);
