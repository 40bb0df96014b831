// What an experiment costs a request: one gateway in this process in front of one simulator, serving the
// same two-backend route with and without an Experiment (50/50 split by user, no template, so that the
// upstream does the same work on both); rounds of requests interleaved across the two routes, so a slow moment of the machine falls
// on both, and the median over an odd number of rounds reported — latency p50 and the process's CPU per
// request — with the machine's load. Also, in tight loops, the assignment with a system-prompt template
// applied, and the metric observations of one answered request.
// Usage: tsx bench/gateway/experiment.ts [--quick].
import os from 'node:os';
import client from 'prom-client';
import { Pool } from 'undici';
import type { CompiledExperiment } from '../../api/v1alpha1/index.js';
import { compileRuntime } from '../../gateway/src/config/load.js';
import { ExperimentMetrics } from '../../gateway/src/experiments/experiment-metrics.js';
import { assign } from '../../gateway/src/experiments/request.js';
import { runtimeExperiment } from '../../gateway/src/experiments/runtime.js';
import { startGateway } from '../../gateway/src/server/gateway.js';
import { startSimulator } from '../../simulator/simulator.js';
import { compiledRoute, gatewayConfig } from '../../testkit/gateway-config.js';
import { silent } from '../../testkit/http-servers.js';
import { chatBody, chatRound, loadAverages, median, signed } from './chat-round.js';

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  process.stdout.write(
    'Usage: npx tsx bench/gateway/experiment.ts [--quick]\n\n' +
      'Per-request overhead of an experiment route against the same route without one: latency p50 and\n' +
      'CPU per request, medians over interleaved rounds; then assignment, template and metrics alone. --quick: fewer rounds.\n',
  );
  process.exit(0);
}
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 3 : 9;
const PER_ROUND = quick ? 200 : 600;

const BACKENDS = [
  { name: 'a', url: 'http://127.0.0.1:1/v1' },
  { name: 'b', url: 'http://127.0.0.1:1/v1' },
];

/** End to end without templates: the upstream then does the same work on both routes. */
const PLAIN_EXPERIMENT: CompiledExperiment = {
  name: 'tone',
  revision: 'r1',
  subject: 'user',
  variants: [
    { name: 'control', backend: 'a', weight: 0.5 },
    { name: 'terse', backend: 'b', weight: 0.5 },
  ],
};

const EXPERIMENT: CompiledExperiment = {
  name: 'tone',
  revision: 'r1',
  subject: 'user',
  variants: [
    { name: 'control', backend: 'a', weight: 0.5 },
    { name: 'terse', backend: 'b', weight: 0.5, template: { systemPrompt: 'Be terse.', temperature: 0.2 } },
  ],
};

/** `n` requests, `concurrency` at a time, each from its own user: p50 latency (ms) and CPU per request (µs). */
async function round(pool: Pool, model: string, n: number, concurrency: number, offset: number) {
  const r = await chatRound(pool, n, concurrency, (i) => chatBody(model, `user-${offset + i}`));
  return { p50: median(r.times), cpuUs: r.cpuUsPerRequest };
}

/** Microseconds per request of the metric observations a 2xx answer makes (latency, cost, error-rate). */
function metricsCost(n: number): number {
  const route = compiledRoute('exp', BACKENDS, { experiment: EXPERIMENT });
  const variant = runtimeExperiment(route).experiment?.variants.get('terse');
  if (variant === undefined) throw new Error('no variant');
  const metrics = new ExperimentMetrics([new client.Registry()]);
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    metrics.observe(variant, 'latency-ms', 12.5 + (i % 7));
    metrics.observe(variant, 'cost-per-request', 0.00002);
    metrics.observe(variant, 'error-rate', 0);
  }
  return ((performance.now() - t) * 1000) / n;
}

/** Microseconds per call of assignment plus template, for distinct users. */
function assignmentCost(n: number): number {
  const route = compiledRoute(
    'exp',
    [
      { name: 'a', url: 'http://127.0.0.1:1/v1' },
      { name: 'b', url: 'http://127.0.0.1:1/v1' },
    ],
    {
      experiment: EXPERIMENT,
    },
  );
  const r = compileRuntime(gatewayConfig([route])).routes.get('exp');
  if (r === undefined) throw new Error('no route');
  const body = { model: 'exp', messages: [{ role: 'user', content: 'hi' }] };
  const caller = { key: 'anonymous', anonymous: true };
  const deps = { random: Math.random };
  let terse = 0;
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    const arm = assign(r, 'chat', { 'x-user-id': `user-${i}` }, body, caller, deps);
    if (arm?.variant.name === 'terse') terse++;
  }
  const us = ((performance.now() - t) * 1000) / n;
  if (terse < n * 0.45 || terse > n * 0.55) throw new Error(`split ${terse}/${n}`);
  return us;
}

type Series = { p50: number[]; cpu: number[] };
const MODES = [
  ['sequential', 1],
  ['concurrent', 16],
] as const;

/** Interleaved rounds over both routes in both modes: per mode and route, each round's p50 and CPU. */
async function measure(pool: Pool): Promise<Record<string, Series>> {
  const results: Record<string, Series> = {};
  for (const [mode] of MODES)
    for (const model of ['plain', 'exp']) results[`${mode} ${model}`] = { p50: [], cpu: [] };
  for (let k = 0; k < ROUNDS; k++) {
    for (const [mode, c] of MODES) {
      // Alternate which route goes first, so neither always runs on a warmer machine.
      for (const model of k % 2 === 0 ? ['plain', 'exp'] : ['exp', 'plain']) {
        const r = await round(pool, model, PER_ROUND, c, (k + 1) * 100_000);
        results[`${mode} ${model}`]?.p50.push(r.p50);
        results[`${mode} ${model}`]?.cpu.push(r.cpuUs);
      }
    }
  }
  return results;
}

/** Medians per route, and the median of the per-round differences (paired: robust to a drifting machine). */
function report(results: Record<string, Series>): void {
  for (const [mode] of MODES) {
    const plain = results[`${mode} plain`];
    const exp = results[`${mode} exp`];
    if (plain === undefined || exp === undefined) continue;
    const dp = median(exp.p50.map((v, i) => v - (plain.p50[i] ?? NaN)));
    const dc = median(exp.cpu.map((v, i) => v - (plain.cpu[i] ?? NaN)));
    process.stdout.write(
      `${mode.padEnd(10)}  p50 ${median(plain.p50).toFixed(3)} ms → ${median(exp.p50).toFixed(3)} ms ` +
        `(paired ${signed(dp * 1000)} µs)   CPU/request ${median(plain.cpu).toFixed(0)} µs → ` +
        `${median(exp.cpu).toFixed(0)} µs (paired ${signed(dc)} µs)\n`,
    );
  }
}

async function main(): Promise<void> {
  const sim = await startSimulator();
  const backends = [
    { name: 'a', url: `${sim.url}/v1` },
    { name: 'b', url: `${sim.url}/v1` },
  ];
  const config = gatewayConfig(
    [compiledRoute('plain', backends), compiledRoute('exp', backends, { experiment: PLAIN_EXPERIMENT })],
    { maxConcurrentRequests: 10_000 },
  );
  const gw = await startGateway({ source: { config }, logger: silent });
  const pool = new Pool(gw.url, { connections: 16 });
  try {
    await round(pool, 'plain', 200, 8, 0);
    await round(pool, 'exp', 200, 8, 0);
    const before = loadAverages();
    const results = await measure(pool);
    process.stdout.write(
      `machine: ${os.cpus().length} cores, load average ${before} (before) ${loadAverages()} (after)\n` +
        `${ROUNDS} rounds × ${PER_ROUND} requests per route and mode, medians over rounds\n\n`,
    );
    report(results);
    const n = quick ? 20_000 : 100_000;
    assignmentCost(n);
    metricsCost(n);
    const assigning = median([1, 2, 3].map(() => assignmentCost(n)));
    const counting = median([1, 2, 3].map(() => metricsCost(n)));
    process.stdout.write(
      `\nalone, per request: assignment + template ${assigning.toFixed(2)} µs, ` +
        `metric observations of a 2xx answer ${counting.toFixed(2)} µs (load ${loadAverages()})\n`,
    );
  } finally {
    await pool.close();
    await gw.close(1000);
    await sim.close();
  }
}

void main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exitCode = 1;
});
