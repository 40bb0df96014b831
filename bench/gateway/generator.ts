// The fixed-rate generator of the benchmark: vegeta (Go, see ../lib/vegeta.ts) when Go or a cached build is
// there, else the Node generator of ../lib/loadgen.ts; and the line of the report that says which one ran,
// where, and how the servers were pinned.
import path from 'node:path';
import type { Pool } from 'undici';
import { fixedRate, type RateResult, type Target } from '../lib/loadgen.js';
import { ensureVegeta, VEGETA_VERSION, vegetaRate, type Vegeta } from '../lib/vegeta.js';
import type { CpuLayout, Loadgen } from './options.js';

export interface FixedRateGenerator {
  /** One open-loop step: `rate` requests/s for `seconds` (the pool serves the Node generator only). */
  step(pool: Pool, t: Target, rate: number, seconds: number): Promise<RateResult>;
  /** How the fixed-rate numbers were measured, for the report. */
  description: string;
}

function describe(vegeta: Vegeta | undefined, cpus: CpuLayout): string {
  const servers =
    cpus.servers !== undefined
      ? `every server (upstream simulator, proxies, gateways, Redis) pinned to CPU ${cpus.servers} with taskset`
      : 'servers unpinned';
  if (vegeta === undefined) {
    return `fixed-rate generator: Node (undici, loadgen.ts) in the benchmark process, unpinned, latency from the intended send time; ${servers}`;
  }
  return (
    `fixed-rate generator: vegeta ${VEGETA_VERSION} (Go, GOMAXPROCS = its CPUs), ` +
    `${vegeta.cpus !== undefined ? `pinned to CPU ${vegeta.cpus} with taskset` : 'unpinned'}, 128 connections, ` +
    `latency from the actual send; ${servers}; c=1 latency and closed loop: Node (undici), unpinned`
  );
}

/** Picks the generator: vegeta unless --loadgen node, or Go is missing and vegeta is not cached. */
export async function setUpGenerator(
  choice: Loadgen | undefined,
  cpus: CpuLayout,
  workDir: string,
): Promise<FixedRateGenerator> {
  let vegeta: Vegeta | undefined;
  if (choice !== 'node') {
    const bin = await ensureVegeta((l) => process.stderr.write(`${l}\n`));
    if (bin !== undefined) vegeta = { bin, dir: path.join(workDir, 'vegeta'), cpus: cpus.loadgen };
    else if (choice === 'vegeta')
      throw new Error('--loadgen vegeta: Go is not installed and vegeta is not cached');
    else process.stderr.write('Go not found: the fixed-rate steps use the Node load generator\n');
  }
  return {
    step: (pool, t, rate, seconds) =>
      vegeta !== undefined ? vegetaRate(vegeta, t, rate, seconds) : fixedRate(pool, t, rate, seconds),
    description: describe(vegeta, cpus),
  };
}
