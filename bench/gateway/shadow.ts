// What mirroring costs the client: one gateway in this process in front of two simulator processes, serving
// the same route with and without a shadow (100% mirrored to the second simulator, which answers in 50 ms,
// so mirrored calls are in flight while the client's requests run; in their own processes, the simulators'
// work is not counted as the gateway's). Rounds interleaved across the two routes, so a slow
// moment of the machine falls on both; the median over an odd number of rounds of each round's p50 and p99
// client latency and the process's CPU per request, with the paired differences and the machine's load.
// Usage: tsx bench/gateway/shadow.ts [--quick] [--compare none|exact|normalised|format].
import os from 'node:os';
import { Pool } from 'undici';
import { SHADOW_COMPARE_MODES, SHADOW_METRICS, type CompiledShadow } from '../../api/v1alpha1/index.js';
import { startGateway } from '../../gateway/src/server/gateway.js';
import { start, stopAll, waitFor } from '../lib/processes.js';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import { silent } from '../../testkit/http-servers.js';
import { chatBody, chatRound, loadAverages, median, signed } from './chat-round.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npx tsx bench/gateway/shadow.ts [--quick] [--compare none|exact|normalised|format]\n\n' +
      'Client-visible latency (p50, p99) and CPU per request of a route that mirrors every request to a\n' +
      'shadow, against the same route without one: medians over interleaved rounds. --quick: fewer rounds.\n',
  );
  process.exit(0);
}
const quick = process.argv.includes('--quick');
const compareAt = process.argv.indexOf('--compare');
const compare = SHADOW_COMPARE_MODES.find((m) => m === process.argv[compareAt + 1]) ?? 'normalised';
const ROUNDS = quick ? 3 : 7;
const PER_ROUND = quick ? 200 : 500;
const sorted = (xs: number[]): number[] => [...xs].sort((a, b) => a - b);
const quantile = (xs: number[], q: number): number => sorted(xs)[Math.floor(q * (xs.length - 1))] ?? NaN;
const MODES = [
  ['sequential', 1],
  ['concurrent', 16],
] as const;
const ROUTES = ['plain', 'shadowed'] as const;

async function round(pool: Pool, model: string, n: number, concurrency: number) {
  const body = chatBody(model);
  const r = await chatRound(pool, n, concurrency, () => body);
  return { p50: median(r.times), p99: quantile(r.times, 0.99), cpuUs: r.cpuUsPerRequest };
}

type Series = { p50: number[]; p99: number[]; cpu: number[] };

async function measure(pool: Pool): Promise<Record<string, Series>> {
  const results: Record<string, Series> = {};
  for (const [mode] of MODES) for (const r of ROUTES) results[`${mode} ${r}`] = { p50: [], p99: [], cpu: [] };
  for (let k = 0; k < ROUNDS; k++) {
    for (const [mode, c] of MODES) {
      for (const model of k % 2 === 0 ? ROUTES : [...ROUTES].reverse()) {
        const r = await round(pool, model, PER_ROUND, c);
        const s = results[`${mode} ${model}`];
        s?.p50.push(r.p50);
        s?.p99.push(r.p99);
        s?.cpu.push(r.cpuUs);
      }
    }
  }
  return results;
}

function report(results: Record<string, Series>): void {
  for (const [mode] of MODES) {
    const off = results[`${mode} plain`];
    const on = results[`${mode} shadowed`];
    if (off === undefined || on === undefined) continue;
    const paired = (a: number[], b: number[]) => median(b.map((v, i) => v - (a[i] ?? NaN)));
    process.stdout.write(
      `${mode.padEnd(10)}  p50 ${median(off.p50).toFixed(3)} → ${median(on.p50).toFixed(3)} ms ` +
        `(paired ${signed(paired(off.p50, on.p50) * 1000)} µs)   p99 ${median(off.p99).toFixed(3)} → ` +
        `${median(on.p99).toFixed(3)} ms   CPU/request ${median(off.cpu).toFixed(0)} → ` +
        `${median(on.cpu).toFixed(0)} µs (paired ${signed(paired(off.cpu, on.cpu))} µs)\n`,
    );
  }
}

/** The primary and the shadow's simulator, each in its own process. */
async function startSimulators(): Promise<{ primary: { url: string }; candidate: { url: string } }> {
  const sim = (port: number, extra: string[] = []) => {
    const args = [
      '--import',
      'tsx',
      'cli/main.ts',
      'simulator',
      '--port',
      String(port),
      '--model',
      'sim-model',
    ];
    start(`simulator ${port}`, process.execPath, [...args, ...extra]);
    return { url: `http://127.0.0.1:${port}` };
  };
  const primary = sim(19341);
  const candidate = sim(19342, ['--latency-ms', '50']);
  const probe = { method: 'POST', body: '{"model":"sim-model","messages":[]}' };
  await Promise.all([primary, candidate].map((s) => waitFor(`${s.url}/v1/chat/completions`, probe)));
  return { primary, candidate };
}

async function main(): Promise<void> {
  const { primary, candidate } = await startSimulators();
  const shadow: CompiledShadow = {
    backend: {
      name: 'candidate',
      provider: 'openai-compatible',
      url: `${candidate.url}/v1`,
      model: 'sim-model',
      pricing: { inputPerMillionTokens: 1, outputPerMillionTokens: 2 },
    },
    percent: 100,
    maxInflight: 64,
    compare,
    timeoutMs: 10_000,
  };
  const main = [{ name: 'main', url: `${primary.url}/v1` }];
  const config = gatewayConfig([compiledRoute('plain', main), compiledRoute('shadowed', main, { shadow })], {
    maxConcurrentRequests: 10_000,
  });
  const gw = await startGateway({ source: { config }, logger: silent });
  const pool = new Pool(gw.url, { connections: 16 });
  try {
    for (const r of ROUTES) await round(pool, r, 200, 8);
    const before = loadAverages();
    const results = await measure(pool);
    await new Promise((r) => setTimeout(r, 200));
    const text = await gw.state.metrics.registry.metrics();
    const total = (name: string) =>
      [...text.matchAll(new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'gm'))].reduce(
        (s, m) => s + Number(m[1]),
        0,
      );
    process.stdout.write(
      `machine: ${os.cpus().length} cores, load average ${before} (before) ${loadAverages()} (after)\n` +
        `${ROUNDS} rounds × ${PER_ROUND} requests per route and mode, medians over rounds; the shadow answers ` +
        `in 50 ms, maxInflight ${shadow.maxInflight}, compare ${compare}\n` +
        `mirrored ${total(SHADOW_METRICS.requests)}, dropped ${total(SHADOW_METRICS.dropped)}, compared ` +
        `${total(SHADOW_METRICS.compared)}, agreed ${total(SHADOW_METRICS.agreed)}\n\n`,
    );
    report(results);
  } finally {
    await pool.close();
    await gw.close(1000);
    await stopAll();
  }
}

void main();
