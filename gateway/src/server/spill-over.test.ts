// Spill-over over real HTTP: a model-server pool that answers 429 when its queue is full (the simulator's
// capacity), a hosted backend that takes the excess, the official openai client in front.
import OpenAI from 'openai';
import { HEADERS, type CompiledRoute } from '../../../api/v1alpha1/index.js';
import type { Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, type BackendSketch } from '../../../testkit/gateway-config.js';
import { TestServers } from '../../../testkit/http-servers.js';
import type { Gateway } from './gateway.js';

const servers = new TestServers();
const sim = (opts: Parameters<TestServers['sim']>[0] = {}) => servers.sim(opts);
const gateway = (routes: CompiledRoute[], limits = {}) => servers.gateway(routes, limits);

afterEach(() => servers.close());

const client = (g: Gateway) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: 'test', maxRetries: 0 });
const b = (name: string, s: Simulator, extra: Partial<BackendSketch> = {}): BackendSketch => ({
  name,
  url: `${s.url}/v1`,
  ...extra,
});
const ask = { model: 'chat', messages: [{ role: 'user' as const, content: 'hello there' }] };

/** `concurrency` clients each asking `each` questions one after the other; who answered each one. */
async function load(g: Gateway, concurrency: number, each: number): Promise<string[]> {
  const served: string[] = [];
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let i = 0; i < each; i++) {
        const { response } = await client(g).chat.completions.create(ask).withResponse();
        served.push(response.headers.get(HEADERS.backend) ?? '?');
      }
    }),
  );
  return served;
}

async function metric(g: Gateway, name: string): Promise<string> {
  return g.state.metrics.registry.getSingleMetricAsString(name);
}

const spillRoute = (pool: Simulator, hosted: Simulator, extra: Partial<BackendSketch> = {}) =>
  compiledRoute(
    'chat',
    [
      b('pool', pool, { spillOver: { to: 'hosted', onThrottle: true }, ...extra }),
      b('hosted', hosted, { weight: 0 }),
    ],
    // No fallback on 429 and no retries: the spill alone keeps the client from seeing the pool's 429s.
    {
      fallback: { on: ['5xx'], maxAttempts: 3 },
      retry: { attempts: 0, backoffMs: 1, maxBackoffMs: 1, maxRetryAfterMs: 1 },
    },
  );

describe('spill-over', () => {
  test('a saturated pool sends the excess to the hosted backend with no client error, and takes it back once it has grown', async () => {
    const pool = await sim({ faults: { latencyMs: 60, capacity: 4 } });
    const hosted = await sim({ faults: { latencyMs: 60 } });
    const g = await gateway([spillRoute(pool, hosted)]);

    // 12 clients against a pool that serves 4 at once: every answer arrives, the excess from hosted.
    const first = await load(g, 12, 10);
    expect(first).toHaveLength(120);
    const fromPool = first.filter((s) => s === 'pool').length;
    expect(fromPool).toBeGreaterThan(20);
    expect(first.filter((s) => s === 'hosted').length).toBeGreaterThan(30);
    expect(pool.stats().overloaded).toBeGreaterThan(0);
    // The pool learned a bound near its capacity: it now mostly spills before asking, not after a 429.
    const spills = await metric(g, 'beastmode_spillover_requests_total');
    expect(spills).toMatch(/cause="throttled"[^\n]* \d+/);
    expect(spills).toMatch(/cause="saturated"[^\n]* \d+/);
    const saturated = Number(/cause="saturated"[^\n]* (\d+)/.exec(spills)?.[1]);
    expect(saturated).toBeGreaterThan(pool.stats().overloaded);
    const limit = Number(
      /beastmode_backend_concurrency_limit\{[^}]*backend="pool"[^}]*\} (\d+)/.exec(
        await metric(g, 'beastmode_backend_concurrency_limit'),
      )?.[1],
    );
    expect(limit).toBeGreaterThanOrEqual(3);
    expect(limit).toBeLessThanOrEqual(6);
    expect(await metric(g, 'beastmode_spillover_active')).toMatch(/backend="pool"[^\n]*to="hosted"[^\n]* 1/);

    // The pool scaled to four times its size: the bound grows back and the traffic returns to it.
    pool.setFaults({ latencyMs: 60, capacity: 16 });
    let last: string[] = [];
    for (let round = 0; round < 10; round++) {
      last = await load(g, 12, 5);
      if (last.every((s) => s === 'pool')) break;
    }
    expect(last.filter((s) => s === 'pool')).toHaveLength(60);
  }, 30_000);

  test('maxConcurrentRequests alone spills before asking; the pool never sees more than its bound', async () => {
    const pool = await sim({ faults: { latencyMs: 80 } });
    const hosted = await sim({ faults: { latencyMs: 80 } });
    const g = await gateway([
      spillRoute(pool, hosted, { maxConcurrentRequests: 3, spillOver: { to: 'hosted', onThrottle: false } }),
    ]);
    let peak = 0;
    let demandPeak = 0;
    const spilledNow = async () =>
      Number(
        /backend="pool"[^}]*\} (\d+)/.exec(await metric(g, 'beastmode_spillover_inflight_requests'))?.[1] ??
          0,
      );
    const watch = setInterval(() => {
      peak = Math.max(peak, pool.stats().inflight);
      void spilledNow().then((n) => (demandPeak = Math.max(demandPeak, n)));
    }, 5);
    const served = await load(g, 8, 4);
    clearInterval(watch);
    // The spilled requests counted as the pool's demand while they ran (8 clients, 3 places), and no longer.
    expect(demandPeak).toBeGreaterThanOrEqual(3);
    expect(demandPeak).toBeLessThanOrEqual(5);
    expect(await spilledNow()).toBe(0);
    expect(served).toHaveLength(32);
    expect(peak).toBe(3);
    expect(served.filter((s) => s === 'pool').length).toBeGreaterThanOrEqual(9);
    expect(served.filter((s) => s === 'hosted').length).toBeGreaterThanOrEqual(9);
    expect(await metric(g, 'beastmode_spillover_requests_total')).toMatch(
      /from="pool",to="hosted",cause="saturated"[^\n]* \d+/,
    );
  });

  test('a saturated backend with nowhere to spill gets a 429 backend_saturated with Retry-After', async () => {
    const pool = await sim({ faults: { latencyMs: 300 } });
    const g = await gateway([compiledRoute('chat', [b('pool', pool, { maxConcurrentRequests: 1 })])]);
    const first = client(g).chat.completions.create(ask);
    await new Promise((r) => setTimeout(r, 50));
    const second = await client(g)
      .chat.completions.create(ask)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(second).toBeInstanceOf(OpenAI.RateLimitError);
    const e = second as InstanceType<typeof OpenAI.RateLimitError>;
    expect(e.code).toBe('backend_saturated');
    expect(e.headers?.get('retry-after')).toBe('1');
    await expect(first).resolves.toBeTruthy();
    expect(pool.stats().requests).toBe(1);
  });
});
