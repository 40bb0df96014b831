// Added latency at concurrency 1: in each round every target serves `perRound` sequential requests (rounds
// interleaved across targets, so a slow moment of the machine falls on all of them), and a target's added
// latency in that round is its median minus the direct upstream's. The report takes the median over rounds.
import { Pool } from 'undici';
import { medianLatency, type Target } from '../lib/loadgen.js';

/** One undici pool per target (128 connections, as vegeta), closed together. */
export interface TargetPools {
  of(t: Target): Pool;
  close(): Promise<void>;
}

export function openPools(targets: readonly Target[]): TargetPools {
  const pools = new Map(
    targets.map((t) => [t.name, new Pool(t.origin, { connections: 128, pipelining: 1 })]),
  );
  return {
    of: (t) => {
      const p = pools.get(t.name);
      if (p === undefined) throw new Error(`no pool for target ${t.name}`);
      return p;
    },
    close: async () => {
      await Promise.all([...pools.values()].map((p) => p.close()));
    },
  };
}

/** Sequential requests to every target before anything is measured: connections, JIT. */
export async function warmUp(
  targets: readonly Target[],
  pools: TargetPools,
  requests: number,
): Promise<void> {
  for (const t of targets) await medianLatency(pools.of(t), t, requests);
}

export interface AddedLatency {
  rounds: number;
  perRound: number;
  /** The direct upstream's median latency in each round (ms). */
  direct: number[];
  /** Per target, its median minus the direct one in each round (ms); direct's own row is zeros. */
  added: Map<string, number[]>;
}

export const median = (xs: readonly number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

/** `targets` must include one named "direct": the baseline. */
export async function measureAddedLatency(
  targets: readonly Target[],
  pools: TargetPools,
  rounds: number,
  perRound: number,
): Promise<AddedLatency> {
  const added = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  const direct: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const medians = new Map<string, number>();
    for (const t of targets) medians.set(t.name, await medianLatency(pools.of(t), t, perRound));
    const d = medians.get('direct');
    if (d === undefined) throw new Error('added latency needs a target named direct');
    direct.push(d);
    for (const t of targets) added.get(t.name)?.push((medians.get(t.name) ?? Number.NaN) - d);
  }
  return { rounds, perRound, direct, added };
}
