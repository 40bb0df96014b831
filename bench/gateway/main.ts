// Gateway benchmark: direct-to-upstream (baseline), a bare node proxy, nginx proxy_pass, @portkey-ai/gateway
// and ours (with policy; without; without, through express, for the decision recorded in gateway/README.md),
// side by side, each server in its own process:
// (a) added latency at concurrency 1 (latency.ts);
// (b) fixed-rate sweeps: every step run once and reported, with the largest rate at p99 < 10 ms and zero
//     errors (rates.ts);
// (c) closed-loop throughput at concurrency 16 (rates.ts);
// and the CPU profile of ours while serving; then (d) the exact-cache hit path, in memory and in Redis
// (cache.ts); then (e) what the quality/cost router's decision costs on the request path (router.ts). The
// machine's load is printed before and after each section. Usage: --help (options.ts).
import { mkdtempSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { hasTaskset, stop, stopAll, withMachineLoad } from '../lib/processes.js';
import { readFirstProfile } from '../lib/profile.js';
import { benchCacheHits } from './cache.js';
import { setUpGenerator, type FixedRateGenerator } from './generator.js';
import { measureAddedLatency, openPools, warmUp } from './latency.js';
import { cpuLayout, HELP, parseBenchOptions, type BenchOptions } from './options.js';
import { closedLoops, latencyBoundRule, sweepTargets, type SweepPlan } from './rates.js';
import { formatCache, formatComparison, type ComparisonResults } from './report.js';
import { benchRouter } from './router.js';
import { formatRouter } from './router-report.js';
import {
  comparedTargets,
  startComparedServers,
  startSimulator,
  waitForTarget,
  type ServerContext,
} from './servers.js';

const FIXED_RATE_P99_MS = 10;
const FIXED_RATES = [250, 500, 1000, 1500, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 10000, 12000, 15000];
const CLOSED_LOOP_CONCURRENCY = 16;

type Measured = Omit<ComparisonResults, 'profile'>;

/** Sections (a), (b) and (c), each between two readings of the machine's load. */
async function measureComparison(
  ctx: ServerContext,
  generator: FixedRateGenerator,
  quick: boolean,
): Promise<Measured & { profileDir: string }> {
  const targets = comparedTargets();
  const servers = startComparedServers(ctx);
  for (const t of targets) await waitForTarget(t);
  const pools = openPools(targets);
  try {
    await warmUp(targets, pools, quick ? 100 : 500);
    const [rounds, perRound] = quick ? [3, 100] : [7, 300];
    const latency = await withMachineLoad(() => measureAddedLatency(targets, pools, rounds, perRound));
    const plan: SweepPlan = {
      rates: FIXED_RATES,
      seconds: quick ? 1 : 1.5,
      rule: latencyBoundRule(FIXED_RATE_P99_MS),
    };
    const fixed = await withMachineLoad(() => sweepTargets(targets, pools, generator, plan));
    const seconds = quick ? 1 : 3;
    const loop = await withMachineLoad(() => closedLoops(targets, pools, CLOSED_LOOP_CONCURRENCY, seconds));
    return {
      quick,
      generator: generator.description,
      targets: targets.map((t) => t.name),
      latency,
      fixedRate: { plan, ...fixed },
      closedLoop: { concurrency: CLOSED_LOOP_CONCURRENCY, seconds, ...loop },
      profileDir: servers.profileDir,
    };
  } finally {
    await pools.close();
    await stop(servers.profiled); // writes its CPU profile on exit
  }
}

async function compare(ctx: ServerContext, generator: FixedRateGenerator, quick: boolean) {
  const { profileDir, ...measured } = await measureComparison(ctx, generator, quick);
  return { ...measured, profile: readFirstProfile(profileDir) };
}

/** Runs one part of the benchmark against a fresh upstream simulator; stops every server it started. */
async function withSimulator<T>(ctx: ServerContext, part: () => Promise<T>): Promise<T> {
  startSimulator(ctx);
  try {
    return await part();
  } finally {
    await stopAll();
  }
}

/** Sections (a) to (d), which need the fixed-rate generator; (a) to (c) unless --only cache. */
async function proxySections(o: BenchOptions, ctx: ServerContext, generator: FixedRateGenerator) {
  if (o.only !== 'cache') {
    const results = await withSimulator(ctx, () => compare(ctx, generator, o.quick));
    process.stdout.write(`${formatComparison(results)}\n\n`);
  }
  const cache = await withSimulator(ctx, () => benchCacheHits(ctx, generator, o.quick));
  process.stdout.write(`${formatCache(cache, generator.description)}\n\n`);
}

async function run(o: BenchOptions): Promise<void> {
  const layout = cpuLayout(o.pin, cpus().length);
  const tmp = mkdtempSync(path.join(tmpdir(), 'bench-gateway-'));
  const ctx: ServerContext = { tmp, cpus: layout.servers };
  if (o.only !== 'router') await proxySections(o, ctx, await setUpGenerator(o.loadgen, layout, tmp));
  if (o.only === undefined || o.only === 'router') {
    const router = await withSimulator(ctx, () => benchRouter(ctx, o.quick));
    process.stdout.write(`${formatRouter(router)}\n`);
  }
}

function options(): BenchOptions | undefined {
  try {
    return parseBenchOptions(process.argv.slice(2), { hasTaskset, cpuCount: cpus().length });
  } catch (err) {
    process.stderr.write(
      `${err instanceof Error ? err.message : String(err)}\nRun with --help for the options.\n`,
    );
    return undefined;
  }
}

const parsed = options();
if (parsed === undefined) process.exitCode = 2;
else if (parsed.help) process.stdout.write(HELP);
else {
  try {
    await run(parsed);
    await stopAll();
  } catch (err) {
    process.stderr.write(`benchmark failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await stopAll();
    process.exit(1);
  }
}
