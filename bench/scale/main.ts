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
import type { Target } from '../lib/loadgen.js';
import {
  cpuSeconds,
  hasTaskset,
  machineLoad,
  pinProcess,
  stop,
  stopAll,
  type Started,
} from '../lib/processes.js';
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
import { BENCH_KEY, startBare, startFleet, startUpstreams, writeGatewayFiles, type Fleet } from './fleet.js';
import { GATEWAY_NODE_OPTIONS } from '../../operator/src/render/gateway.js';
import { addedLatency, measureLatency, type LatencySubject } from './latency.js';
import { coreLayout, defaultGatewayCounts, describeLayout, type CoreLayout } from './layout.js';
import { readOptions } from './options.js';
import { findPrograms, type Programs } from './programs.js';

const read = readOptions(process.argv.slice(2));
if (!read.ok) {
  (read.exit === 0 ? process.stdout : process.stderr).write(read.text);
  process.exit(read.exit);
}
const o = read.options;
const { mode, policies } = o;
const SECONDS = o.seconds;
const WARM_UP_SECONDS = o.warmUp;
const START = o.start;
const P99_MS = o.p99Ms;
const MAX_STEPS = o.maxSteps;
const layout: CoreLayout = coreLayout(cpus().length);
const counts = o.gateways ?? defaultGatewayCounts(layout);
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

/** Every mode's fleet warmed up at once, each at `rate` (unreported): the JIT, the first collections. */
async function warmTogether(fleets: readonly ModeFleet[], vegeta: Vegeta, label: string, rate: number) {
  if (WARM_UP_SECONDS === 0) return;
  const count = Math.min(rate * WARM_UP_SECONDS, 60_000);
  await vegetaRate(vegeta, together(subjects(fleets), label, count), rate * fleets.length, WARM_UP_SECONDS);
}

/** G gateways (or workers, or bare proxies) of every --policy mode, each mode on ports of its own. */
async function startModes(g: number, b: Bench): Promise<ModeFleet[]> {
  const fleets: ModeFleet[] = [];
  for (const [k, policy] of policies.entries())
    fleets.push({ policy, fleet: await startSubject(policy, g, b, GATEWAY_PORT + 100 * k) });
  return fleets;
}

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
  await warmTogether(fleets, vegeta, `${label}-warm-up`, firstRate);
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
  const fleets = await startModes(g, b);
  const label = `${g} ${mode === 'workers' ? 'worker' : 'gateway'}${g === 1 ? '' : 's'} each`;
  const byPolicy = await runTogether(label, fleets, b.vegeta, b.upstreams, START * g);
  for (const [policy, steps] of byPolicy) summary.push(`  ${`${label} ${policy}`.padEnd(24)} ${best(steps)}`);
  await Promise.all(fleets.flatMap((f) => f.fleet.gateways.map(stop)));
  process.stdout.write('\n');
  return byPolicy;
}

/**
 * --latency: one gateway of each mode (or the bare proxy) on the first gateway core, warmed up together at
 * --start/s each, then the interleaved rounds at concurrency 1 from this process, moved to vegeta's cores.
 * Every subject forwards to the upstream `direct` calls (the first): spread over several, a gateway would
 * find each one idler, and slower to answer, than the direct calls and the bare proxy do.
 */
async function latencyAtConcurrencyOne(b: Bench, direct: Target): Promise<void> {
  pinProcess(process.pid, layout.loadgen);
  const fleets = await startModes(1, { ...b, upstreamUrls: [direct.origin] });
  await warmTogether(fleets, b.vegeta, 'latency-warm-up', START);
  const measured: LatencySubject[] = [
    { name: 'direct', target: direct },
    ...fleets.map((f) => ({ name: f.policy, target: f.fleet.targets[0] as Target })),
  ];
  process.stdout.write(
    `Concurrency 1: ${o.rounds} rounds of ${o.perRound} sequential requests to each, ten at a time in turn; ` +
      `median ms of direct, and what each adds to it:\n`,
  );
  const rounds = await measureLatency(measured, {
    rounds: o.rounds,
    perRound: o.perRound,
    warmUp: 200,
    print: (line) => process.stdout.write(`${line}  (${machineLoad()})\n`),
  });
  process.stdout.write(
    `Added latency at concurrency 1, median of the rounds (× bare: the median of the rounds' ratios; ` +
      `the design asks ≤ 0.3 ms and ≤ 1.25× bare):\n`,
  );
  for (const a of addedLatency(rounds))
    process.stdout.write(
      `  ${a.name === 'bare' ? 'bare proxy  ' : `policy ${a.name.padEnd(5)}`} ${a.addedMs.toFixed(3)} ms` +
        `${a.vsBare === undefined || a.name === 'bare' ? '' : `  ${a.vsBare.toFixed(2)}× bare`}\n`,
    );
  await Promise.all(fleets.flatMap((f) => f.fleet.gateways.map(stop)));
}

/** What runs where, from what, and how it is judged: the first lines of every run. */
function header(programs: Programs): string {
  return (
    `Gateway scale benchmark: ${describeLayout(layout)}${hasTaskset ? '' : ' (not pinned: no taskset)'}\n` +
    `running a ${programs.origin} on Node ${process.version}\n` +
    `mode ${mode}, policy ${policies.join(', ')}${o.together ? ' together' : ''}, ` +
    (o.latency
      ? 'added latency at concurrency 1, upstream at 1 ms; '
      : `${SECONDS}s steps from ${START}/s per gateway ×1.5, ` +
        `pass: p99 < ${P99_MS} ms, no errors, ≥ 99% served; `) +
    `${machineLoad()}\n\n`
  );
}

/** The steps direct to the upstreams, then each gateway count's, and the summary. */
async function rateSteps(b: Bench, direct: Target[]): Promise<void> {
  const summary: string[] = [];
  const costs: string[] = [];
  const directSteps = await runSteps(
    'direct',
    policies[0] as Compared,
    b.vegeta,
    direct,
    { gateways: () => [], upstreams: b.upstreams },
    START,
  );
  summary.push(`  ${'direct'.padEnd(24)} ${best(directSteps)}`);
  process.stdout.write(`gateway NODE_OPTIONS: ${b.nodeOptions || '(none)'}\n`);
  for (const g of counts) {
    const byPolicy = o.together ? await measureTogether(g, b, summary) : await measurePolicies(g, b, summary);
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
}

async function main(): Promise<void> {
  const programs = await findPrograms();
  process.stdout.write(header(programs));
  const vegeta: Vegeta = {
    bin: programs.vegeta,
    dir: path.join(programs.work, 'vegeta'),
    cpus: layout.loadgen,
  };
  const upstreams = await startUpstreams(programs, layout.upstreamCount, layout.upstreams, UPSTREAM_PORT);
  const upstreamUrls = upstreams.map((_, i) => `http://127.0.0.1:${UPSTREAM_PORT + i}`);
  const direct = upstreamUrls.map((u) => ({
    name: 'direct',
    origin: u,
    path: '/v1/chat/completions',
    headers: headersFor(policies[0] as Compared),
  }));
  const nodeOptions = o.nodeOptions ?? GATEWAY_NODE_OPTIONS;
  const bench: Bench = { programs, vegeta, upstreams, upstreamUrls, nodeOptions };
  if (o.latency) {
    process.stdout.write(`gateway NODE_OPTIONS: ${nodeOptions || '(none)'}\n`);
    await latencyAtConcurrencyOne(bench, direct[0] as Target);
  } else await rateSteps(bench, direct);
  process.stdout.write(`${machineLoad()}\n`);
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`bench:scale failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void stopAll());
