// npm run bench:scale: how far the gateway scales with cores. For each gateway count G (processes pinned
// one per core, or one gateway with G workers), fixed-rate steps (vegeta, open loop) rising until one
// fails; each step is run once and printed: offered and served rate, p50/p95/p99/max, errors, and the CPU of
// every gateway and upstream process. The same steps straight to the upstream simulators are the baseline,
// measured in the same run. The summary is the largest rate each G holds with p99 under the bound and no
// errors. With several policy modes (--policy off,on,full) each G runs the same steps once per mode and
// the summary adds each mode's gateway CPU per request against "off" (compare.ts); "bare" in that list runs
// the same steps against G bare node:http + undici proxies, the floor the gateway's tails and CPU are judged
// against on the machine at hand. With --together the modes run at the same time instead, on the same
// cores, each offered the step's rate (vegeta alternates between them): a slow moment of the machine falls
// on every mode alike, so their CPU per request compares within each step. Defaults scale to the cores
// found (see layout.ts); it runs on 2 cores (G = 1) as on 16, from a source checkout or from a kit
// (`npm run bench:kit`: bundles, vegeta and Node in one file, for a machine with neither npm nor Go).
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Target } from '../lib/loadgen.js';
import { cpuSeconds, hasTaskset, machineLoad, stop, stopAll, type Started } from '../lib/processes.js';
import { vegetaRate, type Vegeta, type VegetaRateResult } from '../lib/vegeta.js';
import {
  comparePolicies,
  cpuMicrosPerRequest,
  formatPolicyCosts,
  requests,
  together,
  type Compared,
  type MeasuredStep,
} from './compare.js';
import {
  BENCH_KEY,
  startBare,
  startFleet,
  startUpstreams,
  writeGatewayFiles,
  type Fleet,
  type GatewayMode,
} from './fleet.js';
import { GATEWAY_NODE_OPTIONS } from '../../operator/src/render/gateway.js';
import { coreLayout, defaultGatewayCounts, describeLayout, type CoreLayout } from './layout.js';
import { findPrograms, type Programs } from './programs.js';

const USAGE = `Usage: npm run bench:scale -- [options]

  --gateways 1,2,4     gateway counts to measure (default: 1, 2, 4 … up to the gateway cores)
  --mode processes     G gateway processes, one core each, vegeta spreading requests over them;
         workers       one gateway with --workers G on G cores (one pod on many cores)
  --policy on          on: the policy layer as deployed, nothing configured (default);
           off         BEASTMODE_POLICY=off; full: API key, rate limit, budget and exact cache, every request
                       a cache miss; bare: G bare node:http + undici proxies instead (the floor); a list
                       (bare,off,on,full) runs each G once per mode and compares their CPU per request
                       with off's and bare's
  --together           with several --policy modes: run them at the same time on the same cores, each
                       offered the step's rate, and compare their CPU per request step by step (the
                       machine's drift between one mode's steps and the next's drops out; latencies
                       are then of all modes together)
  --seconds 10         length of each step
  --warm-up 15         seconds of unreported load on fresh processes before their first step
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
    'warm-up': { type: 'string', default: '15' },
    start: { type: 'string', default: '1000' },
    'p99-ms': { type: 'string', default: '25' },
    'max-steps': { type: 'string', default: '8' },
    'node-options': { type: 'string' },
    together: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const mode = values.mode as GatewayMode;
const policies = (values.policy ?? 'on').split(',') as Compared[];
if (
  !['processes', 'workers'].includes(mode) ||
  new Set(policies).size !== policies.length ||
  !policies.every((p) => ['bare', 'off', 'on', 'full'].includes(p)) ||
  (values.together === true && policies.length < 2)
) {
  process.stderr.write(USAGE);
  process.exit(2);
}
const SECONDS = Number(values.seconds);
const WARM_UP_SECONDS = Number(values['warm-up']);
const START = Number(values.start);
const P99_MS = Number(values['p99-ms']);
const MAX_STEPS = Number(values['max-steps']);
if (![SECONDS, START, P99_MS, MAX_STEPS].every((n) => n > 0) || !(WARM_UP_SECONDS >= 0)) {
  process.stderr.write(
    `bench:scale: --seconds, --start, --p99-ms and --max-steps take a positive number, --warm-up zero or more\n\n${USAGE}`,
  );
  process.exit(2);
}
const layout: CoreLayout = coreLayout(cpus().length);
const counts = values.gateways?.split(',').map(Number) ?? defaultGatewayCounts(layout);
const UPSTREAM_PORT = 19500;
const GATEWAY_PORT = 19600;

interface Step extends MeasuredStep {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  errors: number;
  cpu: string;
}

/** A step as measured: what vegeta saw, and the served count, CPU and verdict the caller worked out. */
const stepOf = (r: VegetaRateResult, s: Omit<Step, 'p50' | 'p95' | 'p99' | 'max' | 'errors'>): Step => ({
  ...s,
  p50: r.p50,
  p95: r.p95,
  p99: r.p99,
  max: r.max,
  errors: r.errors,
});

const percent = (pids: number[], before: number[], seconds: number): string =>
  pids.map((p, i) => `${Math.round((100 * (cpuSeconds(p) - (before[i] ?? 0))) / seconds)}%`).join(' ');

interface ModeFleet {
  policy: Compared;
  fleet: Fleet;
}

const subjects = (fleets: readonly ModeFleet[]) =>
  fleets.map((f) => ({ policy: f.policy, targets: f.fleet.targets }));

/**
 * The steps of every mode run at the same time: one line a step with each mode's CPU per request and its
 * ratio to the first mode's in that step; returns each mode's steps (served and CPU its own).
 */
async function runTogether(
  label: string,
  fleets: readonly ModeFleet[],
  vegeta: Vegeta,
  upstreams: Started[],
  firstRate: number,
): Promise<Map<Compared, Step[]>> {
  const n = fleets.length;
  const warmCount = Math.min(firstRate * WARM_UP_SECONDS, 60_000);
  if (WARM_UP_SECONDS > 0)
    await vegetaRate(
      vegeta,
      together(subjects(fleets), `${label}-warm-up`, warmCount),
      firstRate * n,
      WARM_UP_SECONDS,
    );
  const byPolicy = new Map<Compared, Step[]>(fleets.map((f) => [f.policy, []]));
  for (let i = 0, rate = firstRate; i < MAX_STEPS; i++, rate = Math.round(rate * 1.5)) {
    const pids = fleets.map((f) => f.fleet.gatewayPids());
    const up = upstreams.map((u) => u.pid);
    const before = pids.map((ps) => ps.map(cpuSeconds));
    const upBefore = up.map(cpuSeconds);
    const batch = together(subjects(fleets), `${label}-${rate}`, Math.min(rate * SECONDS, 60_000));
    const r = await vegetaRate(vegeta, batch, rate * n, SECONDS);
    // vegeta sends to the modes in turn: each served its share (a step with errors fails anyway).
    const served = (r.achieved * SECONDS) / n;
    const pass = r.errors === 0 && r.p99 < P99_MS && r.achieved >= 0.99 * rate * n;
    const micros: string[] = [];
    let first = Number.NaN;
    fleets.forEach((f, k) => {
      const gatewayCpuSeconds = (pids[k] ?? []).reduce(
        (sum, pid, j) => sum + cpuSeconds(pid) - (before[k]?.[j] ?? 0),
        0,
      );
      const step = stepOf(r, { rate, served, gatewayCpuSeconds, pass, cpu: '' });
      byPolicy.get(f.policy)?.push(step);
      const us = cpuMicrosPerRequest(step);
      if (k === 0) first = us;
      micros.push(`${f.policy} ${Math.round(us)}${k === 0 ? '' : ` (${(us / first).toFixed(2)}×)`}`);
    });
    process.stdout.write(
      `${label.padEnd(14)} offered ${String(rate).padStart(6)}/s each  served ${String(Math.round(r.achieved / n)).padStart(6)}/s each  ` +
        `p50 ${r.p50.toFixed(1)}  p95 ${r.p95.toFixed(1)}  p99 ${r.p99.toFixed(1)}  max ${r.max.toFixed(0)} ms  ` +
        `errors ${r.errors}  ${pass ? 'pass' : 'FAIL'}  µs/request: ${micros.join(', ')}  ` +
        `upstreams ${percent(up, upBefore, SECONDS)}  (${machineLoad()})\n`,
    );
    if (!pass) break;
    await new Promise((res) => setTimeout(res, 1000));
  }
  return byPolicy;
}

async function runSteps(
  label: string,
  policy: Compared,
  vegeta: Vegeta,
  targets: Target[],
  procs: { gateways: () => number[]; upstreams: Started[] },
  firstRate: number,
): Promise<Step[]> {
  // Warm-up, not reported: a fresh process runs its first seconds in the interpreter, before the JIT, and
  // its first full collections while the heap grows to its working size (measured: the first two come
  // within ~15 s at 600/s); a step measured then reports those, not the gateway at work.
  if (WARM_UP_SECONDS > 0)
    await vegetaRate(
      vegeta,
      requests(policy, targets, `${label}-warm-up`, Math.min(firstRate * WARM_UP_SECONDS, 60_000)),
      firstRate,
      WARM_UP_SECONDS,
    );
  const steps: Step[] = [];
  for (let i = 0, rate = firstRate; i < MAX_STEPS; i++, rate = Math.round(rate * 1.5)) {
    const gw = procs.gateways();
    const up = procs.upstreams.map((u) => u.pid);
    const before = [...gw, ...up].map(cpuSeconds);
    const batch = requests(policy, targets, `${label}-${rate}`, Math.min(rate * SECONDS, 60_000));
    const r = await vegetaRate(vegeta, batch, rate, SECONDS);
    const gatewayCpuSeconds = gw.reduce((sum, pid, k) => sum + cpuSeconds(pid) - (before[k] ?? 0), 0);
    const served = r.achieved * SECONDS;
    const cpu =
      (gw.length > 0 ? `gateways ${percent(gw, before, SECONDS)}  ` : '') +
      `upstreams ${percent(up, before.slice(gw.length), SECONDS)}`;
    const pass = r.errors === 0 && r.p99 < P99_MS && r.achieved >= 0.99 * rate;
    const step = stepOf(r, { rate, served, gatewayCpuSeconds, pass, cpu });
    steps.push(step);
    const micros = cpuMicrosPerRequest(step);
    const perRequest = gw.length > 0 && Number.isFinite(micros) ? `  ${Math.round(micros)} µs/request` : '';
    process.stdout.write(
      `${label.padEnd(14)} offered ${String(rate).padStart(6)}/s  served ${String(Math.round(r.achieved)).padStart(6)}/s  ` +
        `p50 ${r.p50.toFixed(1)}  p95 ${r.p95.toFixed(1)}  p99 ${r.p99.toFixed(1)}  max ${r.max.toFixed(0)} ms  ` +
        `errors ${r.errors}  ${pass ? 'pass' : 'FAIL'}  cpu: ${cpu}${perRequest}  (${machineLoad()})\n`,
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

const headersFor = (policy: Compared): Record<string, string> =>
  policy === 'full'
    ? { 'content-type': 'application/json', authorization: `Bearer ${BENCH_KEY}` }
    : { 'content-type': 'application/json' };

interface Bench {
  programs: Programs;
  vegeta: Vegeta;
  upstreams: Started[];
  upstreamUrls: string[];
  nodeOptions: string;
}

/** G gateways (or workers) in a policy mode, or G bare proxies, with the gateway's NODE_OPTIONS. */
function startSubject(policy: Compared, g: number, b: Bench, basePort = GATEWAY_PORT): Promise<Fleet> {
  if (policy === 'bare')
    return startBare({
      programs: b.programs,
      count: g,
      cpus: layout.gateways,
      basePort,
      upstreams: b.upstreamUrls,
      env: { NODE_OPTIONS: b.nodeOptions },
    });
  const files = writeGatewayFiles(path.join(b.programs.work, policy), b.upstreamUrls, policy);
  files.env.NODE_OPTIONS = b.nodeOptions;
  return startFleet({
    main: b.programs.gateway,
    count: g,
    mode,
    cpus: layout.gateways,
    basePort,
    files,
    headers: headersFor(policy),
  });
}

/** G gateways (or workers) run the steps once per policy mode; each mode's label and best go to `summary`. */
async function measurePolicies(g: number, b: Bench, summary: string[]): Promise<Map<Compared, Step[]>> {
  const byPolicy = new Map<Compared, Step[]>();
  for (const policy of policies) {
    const fleet = await startSubject(policy, g, b);
    const label =
      policy === 'bare'
        ? `${g} bare prox${g === 1 ? 'y' : 'ies'}`
        : `${g} ${mode === 'workers' ? 'worker' : 'gateway'}${g === 1 ? '' : 's'}` +
          (policies.length > 1 ? ` ${policy}` : '');
    const procs = { gateways: () => fleet.gatewayPids(), upstreams: b.upstreams };
    const steps = await runSteps(label, policy, b.vegeta, fleet.targets, procs, START * g);
    byPolicy.set(policy, steps);
    summary.push(`  ${label.padEnd(24)} ${best(steps)}`);
    await Promise.all(fleet.gateways.map(stop));
    process.stdout.write('\n');
  }
  return byPolicy;
}

/** Every mode's G gateways (or workers) at once, on the same cores, running the steps together. */
async function measureTogether(g: number, b: Bench, summary: string[]): Promise<Map<Compared, Step[]>> {
  const fleets: ModeFleet[] = [];
  for (const [k, policy] of policies.entries())
    fleets.push({ policy, fleet: await startSubject(policy, g, b, GATEWAY_PORT + 100 * k) });
  const label = `${g} ${mode === 'workers' ? 'worker' : 'gateway'}${g === 1 ? '' : 's'} each`;
  const byPolicy = await runTogether(label, fleets, b.vegeta, b.upstreams, START * g);
  for (const [policy, steps] of byPolicy) summary.push(`  ${`${label} ${policy}`.padEnd(24)} ${best(steps)}`);
  await Promise.all(fleets.flatMap((f) => f.fleet.gateways.map(stop)));
  process.stdout.write('\n');
  return byPolicy;
}

async function main(): Promise<void> {
  const programs = await findPrograms();
  process.stdout.write(
    `Gateway scale benchmark: ${describeLayout(layout)}${hasTaskset ? '' : ' (not pinned: no taskset)'}\n` +
      `running a ${programs.origin} on Node ${process.version}\n`,
  );
  process.stdout.write(
    `mode ${mode}, policy ${policies.join(', ')}${values.together ? ' together' : ''}, ` +
      `${SECONDS}s steps from ${START}/s per gateway ×1.5, ` +
      `pass: p99 < ${P99_MS} ms, no errors, ≥ 99% served; ${machineLoad()}\n\n`,
  );
  const vegeta: Vegeta = {
    bin: programs.vegeta,
    dir: path.join(programs.work, 'vegeta'),
    cpus: layout.loadgen,
  };
  const upstreams = await startUpstreams(programs, layout.upstreamCount, layout.upstreams, UPSTREAM_PORT);
  const upstreamUrls = upstreams.map((_, i) => `http://127.0.0.1:${UPSTREAM_PORT + i}`);
  const summary: string[] = [];
  const costs: string[] = [];
  const first = policies[0] as Compared;
  const direct = upstreamUrls.map((u) => ({
    name: 'direct',
    origin: u,
    path: '/v1/chat/completions',
    headers: headersFor(first),
  }));
  const directSteps = await runSteps(
    'direct',
    first,
    vegeta,
    direct,
    { gateways: () => [], upstreams },
    START,
  );
  summary.push(`  ${'direct'.padEnd(24)} ${best(directSteps)}`);
  const nodeOptions = values['node-options'] ?? GATEWAY_NODE_OPTIONS;
  process.stdout.write(`gateway NODE_OPTIONS: ${nodeOptions || '(none)'}\n`);
  for (const g of counts) {
    const bench = { programs, vegeta, upstreams, upstreamUrls, nodeOptions };
    const byPolicy = values.together
      ? await measureTogether(g, bench, summary)
      : await measurePolicies(g, bench, summary);
    if (policies.length > 1) {
      const { rates, costs: perMode } = comparePolicies(byPolicy);
      costs.push(`  G = ${g}:`, ...formatPolicyCosts(perMode, rates));
    }
  }
  process.stdout.write(
    `Largest rate with p99 < ${P99_MS} ms, no errors (every step above was run once):\n${summary.join('\n')}\n`,
  );
  if (costs.length > 0)
    process.stdout.write(`Gateway CPU per served request, by policy mode:\n${costs.join('\n')}\n`);
  process.stdout.write(`${machineLoad()}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench:scale failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
