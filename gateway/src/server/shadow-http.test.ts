// Shadow traffic over real HTTP: the official openai client in front of a gateway whose route mirrors its
// requests to a second simulator. The client's answers, headers and latency come from the primary alone;
// the shadow is measured (outcomes, latency, tokens, cost, agreement), capped, and charged to nothing.
import OpenAI from 'openai';
import {
  HEADERS,
  SHADOW_METRICS,
  type CompiledRoute,
  type CompiledShadow,
} from '../../../api/v1alpha1/index.js';
import { figuresFromSeries, selectSeries } from '../../../operator/src/rollout/providers/gateway.js';
import { parsePrometheusText } from '../../../operator/src/rollout/providers/prom-text.js';
import type { Simulator } from '../../../simulator/simulator.js';
import { compiledRoute } from '../../../testkit/gateway-config.js';
import { TestServers } from '../../../testkit/http-servers.js';
import type { Gateway } from './gateway.js';

const servers = new TestServers();
afterEach(() => servers.close());

const client = (g: Gateway) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'test', maxRetries: 0 });
const ask = (content = 'hello there') => ({ model: 'chat', messages: [{ role: 'user' as const, content }] });

function shadowOf(s: Simulator, extra: Partial<CompiledShadow> = {}): CompiledShadow {
  return {
    backend: {
      name: 'candidate',
      provider: 'openai-compatible',
      url: `${s.url}/v1`,
      model: 'sim-model',
      pricing: { inputPerMillionTokens: 10, outputPerMillionTokens: 20 },
    },
    percent: 100,
    maxInflight: 16,
    compare: 'none',
    timeoutMs: 10_000,
    ...extra,
  };
}

function route(
  primary: Simulator,
  shadow: CompiledShadow,
  extra: Partial<CompiledRoute> = {},
): CompiledRoute {
  return compiledRoute('chat', [{ name: 'main', url: `${primary.url}/v1` }], { shadow, ...extra });
}

async function until(what: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!what()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The value of one series of a metric whose labels include every `labels` pair (0 when absent). */
async function value(g: Gateway, name: string, labels: Record<string, string>): Promise<number> {
  const text = await g.state.metrics.registry.metrics();
  let sum = 0;
  for (const line of text.split('\n')) {
    const at = line.lastIndexOf(' ');
    const series = line.slice(0, at);
    if (!series.startsWith(`${name}{`) && series !== name) continue;
    if (Object.entries(labels).every(([k, want]) => series.includes(`${k}="${want}"`)))
      sum += Number(line.slice(at + 1));
  }
  return sum;
}

const SHADOW = { route: 'chat', backend: 'candidate', variant: 'shadow' };

describe('shadow traffic', () => {
  test('the client gets the primary answer and headers; every request is mirrored at 100%', async () => {
    const primary = await servers.sim();
    const shadow = await servers.sim({ maxTokens: 2 });
    const g = await servers.gateway([route(primary, shadowOf(shadow))]);
    for (let i = 0; i < 6; i++) {
      const { data, response } = await client(g)
        .chat.completions.create(ask(`q${i}`))
        .withResponse();
      expect(response.headers.get(HEADERS.backend)).toBe('main');
      expect(response.headers.get(HEADERS.variant)).toBe('stable');
      // The shadow answers at most 2 tokens: a longer answer can only be the primary's.
      expect(data.usage?.completion_tokens).toBeGreaterThan(2);
    }
    await until(() => shadow.stats().ok === 6);
    expect(primary.stats().requests).toBe(6);
    expect(await value(g, SHADOW_METRICS.requests, { ...SHADOW, outcome: 'ok' })).toBe(6);
    // Client-visible requests count the primary only.
    expect(await value(g, 'beastmode_requests_total', { variant: 'shadow' })).toBe(0);
    expect(await value(g, 'beastmode_requests_total', { backend: 'main', code: '2xx' })).toBe(6);
  });

  test('0% mirrors nothing and 50% mirrors exactly every other request', async () => {
    const primary = await servers.sim();
    const none = await servers.sim();
    const half = await servers.sim();
    const g = await servers.gateway([
      route(primary, shadowOf(none, { percent: 0 })),
      { ...route(primary, shadowOf(half, { percent: 50 })), model: 'half', name: 'half' },
    ]);
    for (let i = 0; i < 8; i++) {
      await client(g).chat.completions.create(ask());
      await client(g).chat.completions.create({ ...ask(), model: 'half' });
    }
    await until(() => half.stats().ok === 4);
    await new Promise((r) => setTimeout(r, 100));
    expect(half.stats().requests).toBe(4);
    expect(none.stats().requests).toBe(0);
    expect(primary.stats().requests).toBe(16);
  });

  test('a slow shadow (2 s) does not slow the client', async () => {
    const primary = await servers.sim();
    const shadow = await servers.sim({ faults: { latencyMs: 2000 } });
    const g = await servers.gateway([route(primary, shadowOf(shadow))]);
    await client(g).chat.completions.create(ask('warm up'));
    const took: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await client(g).chat.completions.create(ask(`slow ${i}`));
      took.push(performance.now() - t0);
    }
    // Each well below the shadow's 2 s (and under load: a generous bound for the primary alone).
    expect(Math.max(...took)).toBeLessThan(1000);
    // Mirrored all the same, and measured at the shadow's latency.
    await until(() => shadow.stats().ok === 6, 6000);
    await new Promise((r) => setTimeout(r, 50));
    expect(await value(g, 'beastmode_upstream_latency_seconds_count', SHADOW)).toBe(6);
    expect(await value(g, 'beastmode_upstream_latency_seconds_sum', SHADOW)).toBeGreaterThan(6 * 1.9);
  }, 15_000);

  test('a failing shadow changes nothing for the client and is counted by outcome', async () => {
    const primary = await servers.sim();
    const failing = await servers.sim({ faults: { errorRate: 1, errorStatus: 500 } });
    const dropping = await servers.sim({ faults: { dropRate: 1 } });
    const g = await servers.gateway([
      route(primary, shadowOf(failing)),
      { ...route(primary, shadowOf(dropping)), model: 'drops', name: 'drops' },
    ]);
    for (let i = 0; i < 4; i++) {
      const a = await client(g).chat.completions.create(ask());
      const b = await client(g).chat.completions.create({ ...ask(), model: 'drops' });
      expect(a.choices[0]?.message.content).toBeTruthy();
      expect(b.choices[0]?.message.content).toBe(a.choices[0]?.message.content);
    }
    await until(() => failing.stats().errors === 4 && dropping.stats().drops === 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(await value(g, SHADOW_METRICS.requests, { ...SHADOW, outcome: '5xx' })).toBe(4);
    expect(await value(g, SHADOW_METRICS.requests, { route: 'drops', outcome: 'connect-error' })).toBe(4);
    expect(await value(g, 'beastmode_requests_total', { code: '5xx' })).toBe(0);
  });

  test('a primary that failed is not mirrored', async () => {
    const primary = await servers.sim({ faults: { errorRate: 1, errorStatus: 400 } });
    const shadow = await servers.sim();
    const g = await servers.gateway([route(primary, shadowOf(shadow))]);
    for (let i = 0; i < 3; i++) await expect(client(g).chat.completions.create(ask())).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 100));
    expect(shadow.stats().requests).toBe(0);
    expect(await value(g, SHADOW_METRICS.dropped, { ...SHADOW, reason: 'primary-failed' })).toBe(3);
  });

  test('mirrored calls spend none of the caller’s rate limit', async () => {
    const primary = await servers.sim();
    const shadow = await servers.sim();
    const limited = route(primary, shadowOf(shadow), {
      rateLimits: [{ per: 'route', requestsPerMinute: 5 }],
    });
    const g = await servers.gateway([limited]);
    for (let i = 0; i < 5; i++) await client(g).chat.completions.create(ask());
    await until(() => shadow.stats().ok === 5);
    // The sixth is the first over the limit: the five mirrored calls were not counted.
    await expect(client(g).chat.completions.create(ask())).rejects.toMatchObject({ status: 429 });
    expect(primary.stats().requests).toBe(5);
    await new Promise((r) => setTimeout(r, 50));
    expect(shadow.stats().requests).toBe(5);
  });

  test('maxInflight caps the mirrored calls in flight; the excess is dropped and counted', async () => {
    const primary = await servers.sim();
    const shadow = await servers.sim({ faults: { latencyMs: 1500 } });
    const g = await servers.gateway([route(primary, shadowOf(shadow, { maxInflight: 2 }))]);
    let peak = 0;
    const poll = setInterval(() => (peak = Math.max(peak, shadow.stats().inflight)), 5);
    try {
      await Promise.all(
        Array.from({ length: 10 }, (_, i) => client(g).chat.completions.create(ask(`c${i}`))),
      );
      await until(() => shadow.stats().ok === 2, 4000);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      clearInterval(poll);
    }
    expect(shadow.stats().requests).toBe(2);
    expect(peak).toBeLessThanOrEqual(2);
    expect(await value(g, SHADOW_METRICS.dropped, { ...SHADOW, reason: 'inflight-cap' })).toBe(8);
  });

  test('nothing is mirrored while the gateway is above half its concurrency bound', async () => {
    const primary = await servers.sim({ faults: { latencyMs: 300 } });
    const shadow = await servers.sim();
    const g = await servers.gateway([route(primary, shadowOf(shadow))], { maxConcurrentRequests: 4 });
    // Three at once: each finishes while the others hold 3 (then 2) of 4 slots, above half of the bound.
    await Promise.all(Array.from({ length: 3 }, () => client(g).chat.completions.create(ask())));
    // One alone afterwards: 1 of 4 in flight, mirrored.
    await client(g).chat.completions.create(ask());
    await until(() => shadow.stats().ok >= 1);
    await new Promise((r) => setTimeout(r, 100));
    const busy = await value(g, SHADOW_METRICS.dropped, { ...SHADOW, reason: 'gateway-busy' });
    expect(busy).toBeGreaterThanOrEqual(1);
    expect(shadow.stats().requests + busy).toBe(4);
  });

  test('a mirrored call goes through the route’s compliance policy like a live attempt', async () => {
    const EMAIL = 'jane.doe@example.com';
    const inCluster = await servers.sim({ echo: true });
    const hosted = await servers.sim({ echo: true });
    const elsewhere = await servers.sim({ echo: true });
    const retention = { storePromptsWithPII: false };
    const pii = { detectors: ['email' as const], hosted: 'redact' as const, inCluster: 'allow' as const };
    const primary = [{ name: 'main', url: `${inCluster.url}/v1`, class: 'in-cluster' as const }];
    const g = await servers.gateway([
      compiledRoute('chat', primary, {
        shadow: {
          ...shadowOf(hosted, { compare: 'exact' }),
          backend: { ...shadowOf(hosted).backend, class: 'hosted' },
        },
        compliance: { pii: { ...pii, restore: true }, retention },
      }),
      compiledRoute('eu', [{ ...primary[0]!, region: 'eu-west-1' }], {
        shadow: { ...shadowOf(elsewhere), backend: { ...shadowOf(elsewhere).backend, region: 'us-east-1' } },
        compliance: { allowedRegions: ['eu-west-1'], retention },
      }),
    ]);
    const ask = (model: string) => ({
      model,
      messages: [{ role: 'user' as const, content: `Mail ${EMAIL} today` }],
    });
    const a = await client(g).chat.completions.create(ask('chat'));
    // The in-cluster primary may see the address; the hosted shadow is sent a placeholder.
    expect(a.choices[0]?.message.content).toContain(EMAIL);
    await until(() => hosted.stats().ok === 1);
    const sent = JSON.stringify(hosted.stats().last?.body);
    expect(sent).not.toContain(EMAIL);
    expect(sent).toContain('[EMAIL_1]');
    // Its answer, restored, agrees with the client's.
    await new Promise((r) => setTimeout(r, 50));
    expect(await value(g, SHADOW_METRICS.agreed, { ...SHADOW, mode: 'exact' })).toBe(1);
    // A shadow in a region the policy does not allow is never called.
    await client(g).chat.completions.create(ask('eu'));
    await new Promise((r) => setTimeout(r, 100));
    expect(elsewhere.stats().requests).toBe(0);
    expect(await value(g, SHADOW_METRICS.dropped, { route: 'eu', reason: 'compliance' })).toBe(1);
  });

  test('metrics show the shadow’s tokens, cost and agreement rate', async () => {
    const primary = await servers.sim();
    const same = await servers.sim();
    const short = await servers.sim({ maxTokens: 2 });
    const g = await servers.gateway([
      route(primary, shadowOf(same, { compare: 'exact' })),
      { ...route(primary, shadowOf(short, { compare: 'normalised' })), model: 'short', name: 'short' },
    ]);
    for (let i = 0; i < 4; i++) {
      await client(g).chat.completions.create(ask(`m${i}`));
      await client(g).chat.completions.create({ ...ask(`m${i}`), model: 'short' });
    }
    // A streamed answer is compared by its text.
    const stream = await client(g).chat.completions.create({ ...ask('streamed'), stream: true });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed.length).toBeGreaterThan(0);
    await until(() => same.stats().ok === 5 && short.stats().ok === 4);
    await new Promise((r) => setTimeout(r, 50));
    expect(await value(g, SHADOW_METRICS.compared, { ...SHADOW, mode: 'exact' })).toBe(5);
    expect(await value(g, SHADOW_METRICS.agreed, { ...SHADOW, mode: 'exact' })).toBe(5);
    expect(await value(g, SHADOW_METRICS.compared, { route: 'short', mode: 'normalised' })).toBe(4);
    expect(await value(g, SHADOW_METRICS.agreed, { route: 'short', mode: 'normalised' })).toBe(0);
    const input = await value(g, 'beastmode_tokens_total', { ...SHADOW, direction: 'input' });
    const output = await value(g, 'beastmode_tokens_total', { ...SHADOW, direction: 'output' });
    expect(input).toBeGreaterThan(0);
    expect(output).toBeGreaterThan(0);
    const cost = await value(g, 'beastmode_cost_usd_total', SHADOW);
    expect(cost).toBeCloseTo((input * 10 + output * 20) / 1e6, 12);
    // Shadow cost is nobody's spend.
    const byCaller = await value(g, 'beastmode_caller_cost_usd_total', {});
    const primaryCost = await value(g, 'beastmode_cost_usd_total', { variant: 'stable' });
    expect(byCaller).toBeCloseTo(primaryCost, 12);
    // The mirrored calls were not streamed, although the last client request was.
    expect((same.stats().last?.body as { stream?: unknown }).stream).toBeUndefined();
    // What the canary analysis reads of this gateway's /metrics: the shadow's figures, apart from stable.
    const text = await g.state.metrics.registry.metrics();
    const series = selectSeries(
      parsePrometheusText(text, (n) => n.startsWith('beastmode_')),
      { namespace: 'default', ...SHADOW },
    );
    const figures = figuresFromSeries(series, 'shadow');
    expect(figures).toMatchObject({ requests: 5, errorRate: 0, agreement: 1 });
    expect(figures.costPerRequest).toBeCloseTo(cost / 5, 12);
    expect(figuresFromSeries(series, 'stable').requests).toBe(0);
  });
});
