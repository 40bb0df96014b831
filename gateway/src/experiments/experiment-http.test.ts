// Experiments over real HTTP with the official openai client and the simulator as upstream: sticky and
// weighted assignment (the operator's own function decides what each response header must say), the
// variant's backend and template upstream, a promoted winner, the exact metrics contract on /metrics
// (requests, errors, streams, cost, feedback), refusals counting nothing, and no cache sharing.
import OpenAI from 'openai';
import { EXPERIMENT_SERIES, HEADERS, type CompiledExperiment } from '../../../api/v1alpha1/index.js';
import { assignVariant } from '../../../operator/src/experiments/allocation.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, type BackendSketch } from '../../../testkit/gateway-config.js';
import { startPolicyGateway, type PolicyGateway } from '../../../testkit/policy-http.js';

let sim: Simulator;
let broken: Simulator;
let g: PolicyGateway;
let client: OpenAI;

const TERSE = { systemPrompt: 'Be terse.', temperature: 0.2 };

function experiment(
  name: string,
  variants: [string, string, number, CompiledExperiment['variants'][number]['template']?][],
  promoted?: string,
): CompiledExperiment {
  return {
    name,
    revision: 'r1',
    subject: 'user',
    variants: variants.map(([n, backend, weight, template]) => ({
      name: n,
      backend,
      weight,
      ...(template !== undefined ? { template } : {}),
    })),
    ...(promoted !== undefined ? { promoted } : {}),
  };
}

const HALVES: Parameters<typeof experiment>[1] = [
  ['control', 'a', 0.5],
  ['terse', 'b', 0.5, TERSE],
];
const CACHE = {
  mode: 'exact' as const,
  ttlMs: 60_000,
  scope: 'route' as const,
  cacheNonDeterministic: false,
};

beforeAll(async () => {
  sim = await startSimulator();
  broken = await startSimulator({ faults: { errorRate: 1, errorStatus: 500 } });
  const ab: BackendSketch[] = [
    { name: 'a', url: `${sim.url}/v1` },
    { name: 'b', url: `${sim.url}/v1` },
  ];
  const routes = [
    compiledRoute('ab', ab, { experiment: experiment('tone', HALVES) }),
    compiledRoute('split', ab, {
      experiment: experiment('split', [
        ['big', 'a', 0.8],
        ['small', 'b', 0.2],
      ]),
    }),
    compiledRoute('promoted', ab, { experiment: experiment('won', HALVES, 'terse') }),
    compiledRoute('metered', ab, { experiment: experiment('meter', HALVES) }),
    compiledRoute(
      'failing',
      [
        { name: 'good', url: `${sim.url}/v1` },
        { name: 'bad', url: `${broken.url}/v1` },
      ],
      {
        fallback: { on: ['5xx', '429', 'timeout', 'connect-error'], maxAttempts: 1 },
        experiment: experiment('fails', [
          ['ok', 'good', 0.5],
          ['broken', 'bad', 0.5],
        ]),
      },
    ),
    compiledRoute(
      'rescued',
      [
        { name: 'good', url: `${sim.url}/v1` },
        { name: 'bad', url: `${broken.url}/v1` },
      ],
      {
        experiment: experiment('rescue', [
          ['ok', 'good', 0.5],
          ['broken', 'bad', 0.5],
        ]),
      },
    ),
    compiledRoute('cached', ab, { cache: CACHE, experiment: experiment('cache', HALVES) }),
    compiledRoute('cached-promoted', ab, {
      cache: CACHE,
      experiment: experiment(
        'cache',
        [
          ['control', 'a', 0.5],
          ['terse', 'b', 0.5, { systemPrompt: 'Be terse.' }],
        ],
        'terse',
      ),
    }),
  ];
  g = await startPolicyGateway({ routes });
  client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'none', maxRetries: 0, timeout: 20_000 });
});

afterAll(async () => {
  await g?.close();
  await sim?.close();
  await broken?.close();
});

const ask = (model: string, user: string, extra: Record<string, unknown> = {}) =>
  client.chat.completions
    .create({ model, user, messages: [{ role: 'user', content: `hello from ${user}` }], ...extra })
    .withResponse();

/** The first of `users` the operator's function puts in `variant`. */
function userIn(exp: string, weights: Record<string, number>, variant: string, from = 0): string {
  for (let i = from; ; i++) if (assignVariant(exp, `user-${i}`, weights) === variant) return `user-${i}`;
}

async function inBatches<T>(n: number, size: number, f: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += size)
    out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, j) => f(i + j)))));
  return out;
}

/** Sum of the /metrics samples of `name` whose labels include all of `labels`. */
async function scraped(name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    if (!Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const moments = async (experimentName: string, metric: string, variant?: string) => {
  const labels = { experiment: experimentName, metric, ...(variant !== undefined ? { variant } : {}) };
  return {
    count: await scraped(EXPERIMENT_SERIES.observations, labels),
    sum: await scraped(EXPERIMENT_SERIES.sum, labels),
    squares: await scraped(EXPERIMENT_SERIES.sumSquares, labels),
  };
};

describe('experiment assignment over HTTP', () => {
  it('keeps a user on one variant across 50 requests, served by its backend', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const { response } = await ask('ab', 'sticky-user');
      seen.add(`${response.headers.get(HEADERS.experiment)} ${response.headers.get(HEADERS.backend)}`);
    }
    const expected = assignVariant('tone', 'sticky-user', { control: 0.5, terse: 0.5 });
    expect([...seen]).toEqual([`tone/${expected} ${expected === 'control' ? 'a' : 'b'}`]);
  });

  it.each([
    ['ab', 'tone', { control: 0.5, terse: 0.5 }],
    ['split', 'split', { big: 0.8, small: 0.2 }],
  ])(
    'splits 2,000 users on %s as the weights say, each as the operator assigns',
    async (model, exp, w) => {
      const got = await inBatches(2000, 50, async (i) => {
        const { response } = await ask(model, `split-user-${i}`);
        return response.headers.get(HEADERS.experiment);
      });
      const counts: Record<string, number> = {};
      got.forEach((h, i) => {
        expect(h).toBe(`${exp}/${assignVariant(exp, `split-user-${i}`, w)}`);
        const v = h?.split('/')[1] ?? '';
        counts[v] = (counts[v] ?? 0) + 1;
      });
      for (const [v, share] of Object.entries(w))
        expect(Math.abs((counts[v] ?? 0) / 2000 - share)).toBeLessThan(0.05);
    },
    120_000,
  );

  it('gives every user the promoted winner, with its template', async () => {
    for (let i = 0; i < 30; i++) {
      const { response } = await ask('promoted', `promoted-user-${i}`);
      expect(response.headers.get(HEADERS.experiment)).toBe('won/terse');
      expect(response.headers.get(HEADERS.backend)).toBe('b');
    }
    expect((sim.stats().last?.body as { temperature?: number }).temperature).toBe(0.2);
  });
});

describe('request templates upstream', () => {
  const w = { control: 0.5, terse: 0.5 };

  it('inserts the system prompt and overrides the temperature for the variant that has them', async () => {
    await ask('ab', userIn('tone', w, 'terse'), { temperature: 0.9 });
    const body = sim.stats().last?.body as {
      messages: { role: string; content: string }[];
      temperature: number;
    };
    expect(body.messages[0]).toEqual({ role: 'system', content: 'Be terse.' });
    expect(body.messages[1]?.role).toBe('user');
    expect(body.temperature).toBe(0.2);
  });

  it('replaces the system message the client sent', async () => {
    await client.chat.completions.create({
      model: 'ab',
      user: userIn('tone', w, 'terse'),
      messages: [
        { role: 'system', content: 'Ramble.' },
        { role: 'user', content: 'hi' },
      ],
    });
    const body = sim.stats().last?.body as { messages: { role: string; content: string }[] };
    expect(body.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'hi' },
    ]);
  });

  it('sends the control variant the request as the client wrote it', async () => {
    await ask('ab', userIn('tone', w, 'control'), { temperature: 0.9 });
    const body = sim.stats().last?.body as { messages: { role: string }[]; temperature: number };
    expect(body.messages.map((m) => m.role)).toEqual(['user']);
    expect(body.temperature).toBe(0.9);
  });
});

describe('the experiment metrics contract on /metrics', () => {
  it('counts latency, errors 0 and cost exactly once per answered request, and ttft per stream', async () => {
    const costBefore = await scraped('beastmode_cost_usd_total', { route: 'metered' });
    await inBatches(20, 10, (i) => ask('metered', `metered-user-${i}`));
    for (let i = 0; i < 5; i++) {
      const stream = await client.chat.completions.create({
        model: 'metered',
        user: `stream-user-${i}`,
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: 'user', content: 'stream please' }],
      });
      for await (const _chunk of stream) void _chunk;
    }
    const latency = await moments('meter', 'latency-ms');
    expect(latency.count).toBe(25);
    expect(latency.sum).toBeGreaterThan(0);
    // A sum of squares of n values is at least (sum)²/n: the squares are really the squares.
    expect(latency.squares).toBeGreaterThanOrEqual((latency.sum * latency.sum) / 25 - 1e-6);
    expect(await moments('meter', 'error-rate')).toEqual({ count: 25, sum: 0, squares: 0 });
    const ttft = await moments('meter', 'ttft-ms');
    expect(ttft.count).toBe(5);
    const cost = await moments('meter', 'cost-per-request');
    expect(cost.count).toBe(25);
    const costAfter = await scraped('beastmode_cost_usd_total', { route: 'metered' });
    expect(cost.sum).toBeCloseTo(costAfter - costBefore, 12);
    // Per variant: the two variants' counts add up to the total.
    const c = await moments('meter', 'latency-ms', 'control');
    const t = await moments('meter', 'latency-ms', 'terse');
    expect(c.count + t.count).toBe(25);
  });

  it('counts nothing for a request refused before any upstream', async () => {
    const before = await moments('meter', 'latency-ms');
    const errorsBefore = await moments('meter', 'error-rate');
    const r = await fetch(`${g.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'metered', user: 'x', messages: 'not a list' }),
    });
    expect(r.status).toBe(400);
    expect(await moments('meter', 'latency-ms')).toEqual(before);
    expect(await moments('meter', 'error-rate')).toEqual(errorsBefore);
  });

  it("counts error-rate 1 for each request its variant's backend could not answer, 0 for the healthy one", async () => {
    const w = { ok: 0.5, broken: 0.5 };
    const bad: string[] = [];
    const good: string[] = [];
    for (let i = 0; bad.length < 6 || good.length < 4; i++) {
      const u = `fail-user-${i}`;
      const v = assignVariant('fails', u, w);
      if (v === 'broken' && bad.length < 6) bad.push(u);
      if (v === 'ok' && good.length < 4) good.push(u);
    }
    // The failing backend answers 500 until its breaker opens; then the healthy one answers the variant's
    // requests, which measure nothing of the variant and count nothing.
    const got: unknown[] = [];
    for (const u of bad)
      got.push(
        await ask('failing', u).then(
          ({ response }): unknown => response.headers.get(HEADERS.backend),
          (e: unknown): unknown => (e instanceof OpenAI.APIError ? e.status : e),
        ),
      );
    expect(got[0]).toBe(500);
    for (const r of got) expect([500, 'good']).toContain(r);
    const failed = got.filter((r) => r === 500).length;
    for (const u of good) await ask('failing', u);
    expect(await moments('fails', 'error-rate', 'broken')).toEqual({
      count: failed,
      sum: failed,
      squares: failed,
    });
    expect(await moments('fails', 'error-rate', 'ok')).toEqual({ count: 4, sum: 0, squares: 0 });
    expect((await moments('fails', 'latency-ms', 'broken')).count).toBe(0);
    expect((await moments('fails', 'latency-ms', 'ok')).count).toBe(4);
  });

  it("counts error-rate 1 for a request a fallback answered after the variant's backend failed", async () => {
    const user = userIn('rescue', { ok: 0.5, broken: 0.5 }, 'broken');
    const { response } = await ask('rescued', user);
    expect(response.headers.get(HEADERS.backend)).toBe('good');
    expect(response.headers.get(HEADERS.experiment)).toBe('rescue/broken');
    expect(await moments('rescue', 'error-rate', 'broken')).toEqual({ count: 1, sum: 1, squares: 1 });
    expect((await moments('rescue', 'latency-ms')).count).toBe(0);
  });

  it('counts feedback scores and task success under the variant that served the request', async () => {
    const w = { control: 0.5, terse: 0.5 };
    const scores: [string, number, boolean?][] = [
      [userIn('meter', w, 'terse'), 0.9],
      [userIn('meter', w, 'terse', 1000), 0.5],
      [userIn('meter', w, 'terse', 2000), 0.8, false],
      [userIn('meter', w, 'control'), 0.25, true],
    ];
    for (const [user, score, success] of scores) {
      const { response } = await ask('metered', user);
      const r = await fetch(`${g.url}/v1/feedback`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          request_id: response.headers.get(HEADERS.requestId),
          score,
          ...(success !== undefined ? { success } : {}),
        }),
      });
      expect(r.status).toBe(202);
    }
    const terse = await moments('meter', 'feedback-score', 'terse');
    expect(terse.count).toBe(3);
    expect(terse.sum).toBeCloseTo(2.2, 12);
    expect(terse.squares).toBeCloseTo(0.81 + 0.25 + 0.64, 12);
    expect(await moments('meter', 'feedback-score', 'control')).toEqual({
      count: 1,
      sum: 0.25,
      squares: 0.0625,
    });
    // 0.9 succeeds by score, 0.5 fails by score, 0.8 is marked failed, 0.25 is marked succeeded.
    expect(await moments('meter', 'task-success', 'terse')).toEqual({ count: 3, sum: 1, squares: 1 });
    expect(await moments('meter', 'task-success', 'control')).toEqual({ count: 1, sum: 1, squares: 1 });
  });
});

describe('the cache and experiments', () => {
  const w = { control: 0.5, terse: 0.5 };
  const same = { temperature: 0, messages: [{ role: 'user' as const, content: 'cache me' }] };

  it('never answers a running experiment from the cache, so variants share no entry', async () => {
    const before = sim.stats().requests;
    const answers = [];
    for (const user of [
      userIn('cache', w, 'control'),
      userIn('cache', w, 'terse'),
      userIn('cache', w, 'control', 500),
    ]) {
      for (let i = 0; i < 2; i++) {
        const { response } = await client.chat.completions
          .create({ model: 'cached', user, ...same })
          .withResponse();
        answers.push(response.headers.get(HEADERS.cache));
      }
    }
    expect(answers).not.toContain('hit');
    expect(sim.stats().requests - before).toBe(6);
  });

  it('caches a promoted winner as usual', async () => {
    const before = sim.stats().requests;
    const headers = [];
    for (const user of ['p1', 'p2', 'p3']) {
      const { response } = await client.chat.completions
        .create({ model: 'cached-promoted', user, ...same })
        .withResponse();
      headers.push(`${response.headers.get(HEADERS.experiment)} ${response.headers.get(HEADERS.cache)}`);
    }
    expect(headers).toEqual(['cache/terse miss', 'cache/terse hit', 'cache/terse hit']);
    expect(sim.stats().requests - before).toBe(1);
  });
});
