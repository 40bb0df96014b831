// npm run bench:scale: how far the gateway scales with cores. For each gateway count G (processes pinned
// one per core, or one gateway with G workers), fixed-rate steps (vegeta, open loop) rising until one
// fails; each step is run once and printed: offered and served rate, p50/p95/p99/max, errors, and the CPU of
// every gateway and upstream process. The same steps straight to the upstream simulators are the baseline,
// measured in the same run. The summary is the largest rate each G holds with p99 under the bound and no
// errors. Defaults scale to the cores found (see layout.ts); it runs on 2 cores (G = 1) as on 16.
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { repoRoot } from '../../cluster/paths.js';
import type { Target } from '../lib/loadgen.js';
import { cpuSeconds, machineLoad, stop, stopAll, type Started } from '../lib/processes.js';
import { ensureVegeta, vegetaRate, type Vegeta } from '../lib/vegeta.js';
import {
  BENCH_KEY,
  buildGateway,
  startFleet,
  startUpstreams,
  writeGatewayFiles,
  type GatewayMode,
  type PolicyMode,
} from './fleet.js';
import { GATEWAY_NODE_OPTIONS } from '../../operator/src/render/gateway.js';
import { coreLayout, defaultGatewayCounts, describeLayout, type CoreLayout } from './layout.js';

const USAGE = `Usage: npm run bench:scale -- [options]

  --gateways 1,2,4     gateway counts to measure (default: 1, 2, 4 … up to the gateway cores)
  --mode processes     G gateway processes, one core each, vegeta spreading requests over them;
         workers       one gateway with --workers G on G cores (one pod on many cores)
  --policy on          on: the policy layer as deployed, nothing configured (default);
           off         BEASTMODE_POLICY=off; full: API key, rate limit, budget and exact cache, every request
                       a cache miss
  --seconds 10         length of each step
  --start 1000         first step's rate per gateway (req/s); each next step is 1.5 times the last
  --p99-ms 25          a step passes with p99 below this, no errors and 99% of the offered rate served
  --max-steps 8        steps per gateway count at most
  --node-options='…'   NODE_OPTIONS of the gateway processes (default: what the operator's Deployment sets)
  -h, --help           this help
`;

const { values } = parseArgs({
  options: {
    gateways: { type: 'string' },
    mode: { type: 'string', default: 'processes' },
    policy: { type: 'string', default: 'on' },
    seconds: { type: 'string', default: '10' },
    start: { type: 'string', default: '1000' },
    'p99-ms': { type: 'string', default: '25' },
    'max-steps': { type: 'string', default: '8' },
    'node-options': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const mode = values.mode as GatewayMode;
const policy = values.policy as PolicyMode;
if (!['processes', 'workers'].includes(mode) || !['off', 'on', 'full'].includes(policy)) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const SECONDS = Number(values.seconds);
const START = Number(values.start);
const P99_MS = Number(values['p99-ms']);
const MAX_STEPS = Number(values['max-steps']);
const layout: CoreLayout = coreLayout(cpus().length);
const counts = values.gateways?.split(',').map(Number) ?? defaultGatewayCounts(layout);
const work = path.join(repoRoot, '.beastmode', 'bench-scale');
const UPSTREAM_PORT = 19500;
const GATEWAY_PORT = 19600;

interface Step {
  rate: number;
  served: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  pass: boolean;
  cpu: string;
}

const percent = (pids: number[], before: number[], seconds: number): string =>
  pids.map((p, i) => `${Math.round((100 * (cpuSeconds(p) - (before[i] ?? 0))) / seconds)}%`).join(' ');

/** Distinct requests (every one a cache miss) for policy "full"; one request otherwise. */
function requests(base: Target[], step: string, count: number): Target[] {
  if (policy !== 'full') return base;
  return Array.from({ length: count }, (_, i) => ({
    ...(base[i % base.length] as Target),
    body: JSON.stringify({
      model: 'chat',
      messages: [{ role: 'user', content: `Say hello to request ${i} of ${step}.` }],
      max_tokens: 16,
      temperature: 0,
    }),
  }));
}

async function runSteps(
  label: string,
  vegeta: Vegeta,
  targets: Target[],
  procs: { gateways: () => number[]; upstreams: Started[] },
  firstRate: number,
): Promise<Step[]> {
  // Warm-up, not reported: a fresh process runs its first seconds in the interpreter, before the JIT.
  await vegetaRate(
    vegeta,
    requests(targets, `${label}-warm-up`, firstRate * 4),
    Math.round(firstRate / 2),
    4,
  );
  const steps: Step[] = [];
  for (let i = 0, rate = firstRate; i < MAX_STEPS; i++, rate = Math.round(rate * 1.5)) {
    const gw = procs.gateways();
    const up = procs.upstreams.map((u) => u.pid);
    const before = [...gw, ...up].map(cpuSeconds);
    const batch = requests(targets, `${label}-${rate}`, Math.min(rate * SECONDS, 60_000));
    const r = await vegetaRate(vegeta, batch, rate, SECONDS);
    const cpu =
      (gw.length > 0 ? `gateways ${percent(gw, before, SECONDS)}  ` : '') +
      `upstreams ${percent(up, before.slice(gw.length), SECONDS)}`;
    const pass = r.errors === 0 && r.p99 < P99_MS && r.achieved >= 0.99 * rate;
    steps.push({
      rate,
      served: r.achieved,
      p50: r.p50,
      p95: r.p95,
      p99: r.p99,
      max: r.max,
      errors: r.errors,
      pass,
      cpu,
    });
    process.stdout.write(
      `${label.padEnd(14)} offered ${String(rate).padStart(6)}/s  served ${String(Math.round(r.achieved)).padStart(6)}/s  ` +
        `p50 ${r.p50.toFixed(1)}  p95 ${r.p95.toFixed(1)}  p99 ${r.p99.toFixed(1)}  max ${r.max.toFixed(0)} ms  ` +
        `errors ${r.errors}  ${pass ? 'pass' : 'FAIL'}  cpu: ${cpu}  (${machineLoad()})\n`,
    );
    if (!pass) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  return steps;
}

const best = (steps: Step[]): string => {
  const ok = steps.filter((s) => s.pass).at(-1);
  return ok === undefined ? 'none' : `${ok.rate}/s (p99 ${ok.p99.toFixed(1)} ms)`;
};

async function main(): Promise<void> {
  process.stdout.write(`Gateway scale benchmark: ${describeLayout(layout)}\n`);
  process.stdout.write(
    `mode ${mode}, policy ${policy}, ${SECONDS}s steps from ${START}/s per gateway ×1.5, pass: p99 < ${P99_MS} ms, ` +
      `no errors, ≥ 99% served; ${machineLoad()}\n\n`,
  );
  const vegetaBin = await ensureVegeta((l) => process.stderr.write(`${l}\n`));
  if (vegetaBin === undefined)
    throw new Error('bench:scale needs vegeta: install Go (it is built once and cached)');
  const vegeta: Vegeta = { bin: vegetaBin, dir: path.join(work, 'vegeta'), cpus: layout.loadgen };
  const main = buildGateway(repoRoot, path.join(work, 'dist'));
  const upstreams = await startUpstreams(repoRoot, layout.upstreamCount, layout.upstreams, UPSTREAM_PORT);
  const upstreamUrls = upstreams.map((_, i) => `http://127.0.0.1:${UPSTREAM_PORT + i}`);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (policy === 'full') headers.authorization = `Bearer ${BENCH_KEY}`;
  const summary: string[] = [];
  const direct = upstreamUrls.map((u) => ({
    name: 'direct',
    origin: u,
    path: '/v1/chat/completions',
    headers,
  }));
  const directSteps = await runSteps('direct', vegeta, direct, { gateways: () => [], upstreams }, START);
  summary.push(`  ${'direct'.padEnd(24)} ${best(directSteps)}`);
  const files = writeGatewayFiles(work, upstreamUrls, policy);
  files.env.NODE_OPTIONS = values['node-options'] ?? GATEWAY_NODE_OPTIONS;
  process.stdout.write(`gateway NODE_OPTIONS: ${files.env.NODE_OPTIONS || '(none)'}\n`);
  for (const g of counts) {
    const fleet = await startFleet({
      main,
      count: g,
      mode,
      cpus: layout.gateways,
      basePort: GATEWAY_PORT,
      files,
      headers,
    });
    const label = `${g} ${mode === 'workers' ? 'worker' : 'gateway'}${g === 1 ? '' : 's'}`;
    const steps = await runSteps(
      label,
      vegeta,
      fleet.targets,
      { gateways: () => fleet.gatewayPids(), upstreams },
      START * g,
    );
    summary.push(`  ${label.padEnd(24)} ${best(steps)}`);
    await Promise.all(fleet.gateways.map(stop));
    process.stdout.write('\n');
  }
  process.stdout.write(
    `Largest rate with p99 < ${P99_MS} ms, no errors (every step above was run once):\n${summary.join('\n')}\n`,
  );
  process.stdout.write(`${machineLoad()}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench:scale failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
