// The exact-cache hit benchmark: one deterministic request (temperature 0) on a route with cache mode exact,
// filled once, so every later request is a hit; open-loop sweeps against a gateway caching in memory and one
// caching in Redis. The upstream must see no request during the sweeps (counted and reported), so what is
// measured is the hit path alone.
import { startRedis } from '../../testkit/redis.js';
import { pinProcess, stop, waitFor, withMachineLoad, type LoadSpan } from '../lib/processes.js';
import { readFirstProfile, type CpuProfile } from '../lib/profile.js';
import type { FixedRateGenerator } from './generator.js';
import { openPools, warmUp } from './latency.js';
import { capacityRule, sweepTargets, type Step, type SweepPlan } from './rates.js';
import {
  CACHE_BODY,
  SEMANTIC_ORIGIN,
  startCacheGateways,
  UPSTREAM,
  waitForTarget,
  type ServerContext,
} from './servers.js';
import type { Target } from '../lib/loadgen.js';

export const CACHE_P99_MS = 5;

export interface CacheResults {
  plan: SweepPlan;
  requestBytes: number;
  /** Per store ("cache-memory", "cache-redis"): every step run. */
  steps: Map<string, Step[]>;
  load: LoadSpan;
  upstreamDuring: number;
  hitsSeen: number;
  /** The in-memory gateway's CPU profile. */
  profile: CpuProfile | undefined;
}

async function upstreamRequests(): Promise<number> {
  const r = await fetch(`${UPSTREAM}/admin/stats`);
  return ((await r.json()) as { requests: number }).requests;
}

async function cacheHits(origin: string): Promise<number> {
  const text = await (await fetch(`${origin}/metrics`)).text();
  let n = 0;
  for (const m of text.matchAll(
    /^beastmode_cache_lookups_total\{[^}]*result="(?:semantic-)?hit"[^}]*\} (\S+)$/gm,
  )) {
    n += Number(m[1]);
  }
  return n;
}

const allHits = async (targets: readonly Target[]) =>
  (await Promise.all(targets.map((t) => cacheHits(t.origin)))).reduce((a, b) => a + b, 0);

export function cachePlan(quick: boolean): SweepPlan {
  return {
    rates: quick
      ? [2000, 5000, 8000, 10000, 12000]
      : [1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000, 20000],
    seconds: quick ? 1 : 2,
    rule: capacityRule(CACHE_P99_MS),
  };
}

type Measured = Omit<CacheResults, 'plan' | 'requestBytes' | 'profile'>;

/** Waits for the gateways, fills and warms them, then sweeps both stores between two counts. */
async function measureHits(
  targets: readonly Target[],
  generator: FixedRateGenerator,
  plan: SweepPlan,
  quick: boolean,
): Promise<Measured> {
  const pools = openPools(targets);
  try {
    await waitFor(`${UPSTREAM}/v1/models`);
    for (const t of targets)
      await waitForTarget(t, t.name === 'cache-semantic' ? SEMANTIC_ORIGIN : CACHE_BODY);
    await warmUp(targets, pools, quick ? 500 : 2000); // fills the entry (one miss), JIT
    const up0 = await upstreamRequests();
    const hits0 = await allHits(targets);
    const { result: steps, load } = await withMachineLoad(() =>
      sweepTargets(targets, pools, generator, plan),
    );
    const upstreamDuring = (await upstreamRequests()) - up0;
    const hitsSeen = (await allHits(targets)) - hits0;
    return { steps, load, upstreamDuring, hitsSeen };
  } finally {
    await pools.close();
  }
}

/** Needs the upstream simulator running (servers.ts startSimulator); starts and stops Redis and the gateways. */
export async function benchCacheHits(
  ctx: ServerContext,
  generator: FixedRateGenerator,
  quick: boolean,
): Promise<CacheResults> {
  const redis = await startRedis();
  const redisPid = redis.pid();
  if (ctx.cpus !== undefined && redisPid !== undefined) pinProcess(redisPid, ctx.cpus);
  const servers = startCacheGateways(ctx, redis.url);
  const plan = cachePlan(quick);
  let measured: Measured;
  try {
    measured = await measureHits(servers.targets, generator, plan, quick);
  } finally {
    await stop(servers.memory); // writes its CPU profile on exit
    await stop(servers.redis);
    await stop(servers.semantic);
    await redis.stop();
  }
  return {
    ...measured,
    plan,
    requestBytes: CACHE_BODY.length,
    profile: readFirstProfile(servers.profileDir),
  };
}
