// bench:scale --latency: the latency the gateway adds at concurrency 1, as the design states its goal
// (≤ 0.3 ms, and ≤ 1.25× a bare node:http + undici proxy measured in the same run). One gateway of each
// policy mode (and the bare proxy) on the same core, the client on the load generator's cores, the
// upstream at its 1 ms. In each round every subject, direct to the upstream first, serves the same number
// of sequential requests, ten at a time in turn, so a slow moment of the machine falls on all of them
// rather than on one subject; a subject's added latency in a round is its median minus the direct median
// of that round, and its ratio to the bare proxy is taken round by round. "full" is sent distinct prompts (every
// request a cache miss), as in the rate steps.
import { Pool } from 'undici';
import { BODY, percentile, type Target } from '../lib/loadgen.js';
import { median, requests, type Compared } from './compare.js';

/** What is measured in turn: the upstream itself ("direct") or one fleet of a policy mode. */
export interface LatencySubject {
  name: 'direct' | Compared;
  target: Target;
}

/** One round: each subject's median latency over its sequential requests, ms. */
export type LatencyRound = ReadonlyMap<LatencySubject['name'], number>;

export interface AddedLatency {
  name: Compared;
  /** The median over rounds of the subject's median minus direct's, ms. */
  addedMs: number;
  /** The median over rounds of its added latency ÷ the bare proxy's; undefined without "bare". */
  vsBare: number | undefined;
}

/** Each subject's added latency over the rounds, and its ratio to the bare proxy's, round by round. */
export function addedLatency(rounds: readonly LatencyRound[]): AddedLatency[] {
  const names = [...(rounds[0]?.keys() ?? [])].filter((n): n is Compared => n !== 'direct');
  const added = (r: LatencyRound, n: Compared) => (r.get(n) as number) - (r.get('direct') as number);
  return names.map((name) => ({
    name,
    addedMs: median(rounds.map((r) => added(r, name))),
    vsBare: names.includes('bare') ? median(rounds.map((r) => added(r, name) / added(r, 'bare'))) : undefined,
  }));
}

/** One round's line: "direct 1.262  bare +0.452  on +0.560 (1.24× bare) …". */
export function formatRound(r: LatencyRound): string {
  const direct = r.get('direct') as number;
  return [...r]
    .map(([name, ms]) => {
      if (name === 'direct') return `direct ${ms.toFixed(3)}`;
      const bare = r.get('bare');
      const ratio =
        bare === undefined || name === 'bare'
          ? ''
          : ` (${((ms - direct) / (bare - direct)).toFixed(2)}× bare)`;
      return `${name} +${(ms - direct).toFixed(3)}${ratio}`;
    })
    .join('  ');
}

/**
 * How many requests a subject serves before the next one's turn: few enough that a slow moment of the
 * machine (measured: a direct median moving from 1.33 to 1.78 ms between one subject's 1,000 requests and
 * the next's) falls on every subject of the round alike, enough that each serves its turn with its code
 * and data warm, as a gateway under steady traffic does.
 */
const TURN = 10;

/**
 * `rounds` rounds of `perRound` sequential requests to each subject, taken in turns of TURN, after a
 * round of `warmUp` requests to each (connections, the client's JIT); the rounds as measured, each
 * printed as it ends.
 */
export async function measureLatency(
  subjects: readonly LatencySubject[],
  o: { rounds: number; perRound: number; warmUp: number; print: (line: string) => void },
): Promise<LatencyRound[]> {
  const pools = subjects.map((s) => new Pool(s.target.origin, { connections: 1, pipelining: 1 }));
  const once = async (k: number, t: Target): Promise<number> => {
    const began = performance.now();
    const r = await (pools[k] as Pool).request({
      path: t.path,
      method: 'POST',
      headers: t.headers,
      body: t.body ?? BODY,
    });
    await r.body.text();
    if (r.statusCode !== 200)
      throw new Error(`${subjects[k]?.name}: status ${r.statusCode} at concurrency 1`);
    return performance.now() - began;
  };
  const round = async (label: string, n: number): Promise<LatencyRound> => {
    const sent = subjects.map((s) => requests(s.name === 'direct' ? 'on' : s.name, [s.target], label, n));
    const ms = subjects.map((): number[] => []);
    for (let i = 0; i < n; i += TURN)
      for (const k of subjects.keys())
        for (let j = i; j < Math.min(i + TURN, n); j++) {
          const list = sent[k] as Target[];
          ms[k]?.push(await once(k, list[j % list.length] as Target));
        }
    return new Map(
      subjects.map((s, k) => [
        s.name,
        percentile(
          (ms[k] as number[]).sort((a, b) => a - b),
          50,
        ),
      ]),
    );
  };
  try {
    await round('latency-warm-up', o.warmUp);
    const rounds: LatencyRound[] = [];
    for (let r = 0; r < o.rounds; r++) {
      rounds.push(await round(`latency-${r}`, o.perRound));
      o.print(`round ${String(r + 1).padStart(2)}  ${formatRound(rounds[r] as LatencyRound)}`);
    }
    return rounds;
  } finally {
    await Promise.all(pools.map((p) => p.close()));
  }
}
