// One gateway pod on several cores, over real HTTP: `beastmode gateway --workers 2` forks two workers that
// share the port. Connections pinned to each worker (undici Clients hold one connection) prove that a rate
// limit is one limit for the pod, feedback finds the worker that served the request, a learning router
// learns from the pod's feedback, /metrics is the pod's aggregate whichever worker answers, and SIGTERM
// stops every process.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'undici';
import { compiledRoute, gatewayConfig, qualityCostRoute } from '../../../testkit/gateway-config.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';

const repoRoot = process.cwd();

let sim: Simulator;
let primary: ChildProcess;
let url: string;
const clients: Client[] = [];

async function readyWorker(c: Client): Promise<number> {
  const r = await c.request({ path: '/readyz', method: 'GET' });
  const body = (await r.body.json()) as { worker?: number };
  if (body.worker === undefined) throw new Error(`no worker in /readyz: ${JSON.stringify(body)}`);
  return body.worker;
}

/** A client whose one connection is served by the worker `want` (new connections until one lands there). */
async function clientOn(want: number | 'other than', of?: number): Promise<{ c: Client; worker: number }> {
  for (let i = 0; i < 200; i++) {
    const c = new Client(url, { pipelining: 1, connections: 1 } as ConstructorParameters<typeof Client>[1]);
    const worker = await readyWorker(c);
    if (want === 'other than' ? worker !== of : worker === want) {
      clients.push(c);
      return { c, worker };
    }
    await c.close();
  }
  throw new Error('the kernel never spread a connection to the other worker');
}

async function chat(c: Client, model = 'chat'): Promise<{ status: number; id: string }> {
  const r = await c.request({
    path: '/v1/chat/completions',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });
  await r.body.text();
  return { status: r.statusCode, id: String(r.headers['x-request-id']) };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  sim = await startSimulator({ models: ['sim-model'] });
  const dir = mkdtempSync(join(tmpdir(), 'bm-workers-'));
  const config = gatewayConfig([
    compiledRoute('chat', [{ name: 'sim', url: `${sim.url}/v1` }]),
    compiledRoute('limited', [{ name: 'sim', url: `${sim.url}/v1` }], {
      rateLimits: [{ per: 'route', requestsPerMinute: 5 }],
    }),
    qualityCostRoute(
      { strong: `${sim.url}/v1`, weak: `${sim.url}/v1` },
      { targetQuality: 0.95, learning: { exploration: 0.05, goodScore: 0.5 } },
      { model: 'smart' },
    ),
  ]);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
  const port = 20000 + Math.floor(Math.random() * 20000);
  url = `http://127.0.0.1:${port}`;
  primary = spawn(
    process.execPath,
    ['--import', 'tsx', 'cli/main.ts', 'gateway', '--workers', '2', '--host', '127.0.0.1'],
    {
      cwd: repoRoot,
      env: { ...process.env, BEASTMODE_PORT: String(port), BEASTMODE_CONFIG: join(dir, 'config.json') },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  await until('both workers to serve', async () => {
    const seen = new Set<number>();
    for (let i = 0; i < 20 && seen.size < 2; i++) {
      const c = new Client(url);
      seen.add(await readyWorker(c));
      await c.close();
    }
    return seen.size === 2 ? true : undefined;
  });
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  if (primary.exitCode === null) primary.kill('SIGKILL');
  await sim.close();
});

describe('a gateway with two workers', () => {
  let a: { c: Client; worker: number };
  let b: { c: Client; worker: number };

  beforeAll(async () => {
    a = await clientOn(1);
    b = await clientOn('other than', a.worker);
  }, 30_000);

  test('enforces a rate limit once for the pod, whichever worker admits', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => chat(i % 2 === 0 ? a.c : b.c, 'limited').then((r) => r.status)),
    );
    expect(results.filter((s) => s === 200)).toHaveLength(5);
    expect(results.filter((s) => s === 429)).toHaveLength(7);
  }, 30_000);

  test('takes feedback on one worker for a request another worker served, once', async () => {
    const served = await chat(a.c);
    expect(served.status).toBe(200);
    const id = served.id;
    const send = async (c: Client): Promise<number> => {
      const r = await c.request({
        path: '/v1/feedback',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_id: id, score: 0.9 }),
      });
      await r.body.text();
      return r.statusCode;
    };
    expect(await send(b.c)).toBe(202);
    expect(await send(a.c)).toBe(409);
  }, 30_000);

  test('serves the pod aggregate on /metrics from either worker', async () => {
    const total = async (c: Client): Promise<number> => {
      const r = await c.request({ path: '/metrics', method: 'GET' });
      const text = await r.body.text();
      let n = 0;
      for (const m of text.matchAll(/^beastmode_requests_total\{[^}]*route="limited"[^}]*\} (\S+)$/gm))
        n += Number(m[1]);
      return n;
    };
    const fromA = await total(a.c);
    const fromB = await total(b.c);
    expect(fromA).toBe(fromB);
    // The 12 requests of the rate-limit test, half through each worker.
    expect(fromA).toBe(12);
  });

  test("shares the learning router's counts between the workers, without Redis", async () => {
    for (let i = 0; i < 20; i++) {
      const served = await chat(a.c, 'smart');
      const r = await a.c.request({
        path: '/v1/feedback',
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request_id: served.id, score: 1 }),
      });
      await r.body.text();
    }
    // Every 5 s a worker adds its counts to the pod's and reads the sum back.
    const outcomes = async (c: Client): Promise<number | undefined> => {
      const r = await c.request({ path: '/admin/router/default/smart', method: 'GET' });
      const state = (await r.body.json()) as { summary: { outcomes: number } };
      return state.summary.outcomes === 20 ? 20 : undefined;
    };
    expect(await until('the other worker to see the outcomes', () => outcomes(b.c), 20_000)).toBe(20);
  }, 40_000);

  test('stops every worker on SIGTERM', async () => {
    const exited = new Promise<number | null>((resolve) => primary.once('exit', resolve));
    primary.kill('SIGTERM');
    expect(await exited).toBe(0);
    const c = new Client(url);
    await expect(c.request({ path: '/readyz', method: 'GET' })).rejects.toThrow();
    await c.close().catch(() => undefined);
  }, 40_000);
});
