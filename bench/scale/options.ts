// bench:scale's command line, read and checked (pure: the arguments are passed in).
import { parseArgs } from 'node:util';
import type { Compared } from './compare.js';
import type { GatewayMode } from './fleet.js';

export const USAGE = `Usage: npm run bench:scale -- [options]

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
  --latency            instead of the rate steps: the latency one gateway of each --policy mode adds at
                       concurrency 1 over the direct upstream, in interleaved rounds (bare in the list: the
                       ratio to the bare proxy, round by round)
  --rounds 9           --latency's rounds; --per-round 1000: sequential requests per subject and round
  --seconds 10         length of each step
  --warm-up 15         seconds of unreported load on fresh processes before their first step
  --start 1000         first step's rate per gateway (req/s); each next step is 1.5 times the last
  --p99-ms 25          a step passes with p99 below this, no errors and 99% of the offered rate served
  --max-steps 8        steps per gateway count at most
  --node-options='…'   NODE_OPTIONS of the gateway processes (default: what the operator's Deployment sets)
  -h, --help           this help
`;

export interface ScaleOptions {
  /** Gateway counts to measure; undefined: scaled to the cores found. */
  gateways: number[] | undefined;
  mode: GatewayMode;
  policies: Compared[];
  together: boolean;
  latency: boolean;
  rounds: number;
  perRound: number;
  seconds: number;
  warmUp: number;
  start: number;
  p99Ms: number;
  maxSteps: number;
  nodeOptions: string | undefined;
}

/** The options, or what to print and the exit status (0 for --help, 2 for a wrong command line). */
export type ReadOptions = { ok: true; options: ScaleOptions } | { ok: false; exit: 0 | 2; text: string };

const POLICIES: readonly Compared[] = ['bare', 'off', 'on', 'full'];

const wrong = (why: string): ReadOptions => ({ ok: false, exit: 2, text: `bench:scale: ${why}\n\n${USAGE}` });

const parse = (args: string[]) =>
  parseArgs({
    args,
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
      latency: { type: 'boolean', default: false },
      rounds: { type: 'string', default: '9' },
      'per-round': { type: 'string', default: '1000' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });

export function readOptions(args: string[]): ReadOptions {
  let values;
  try {
    ({ values } = parse(args));
  } catch (e) {
    return wrong((e as Error).message);
  }
  if (values.help) return { ok: false, exit: 0, text: USAGE };
  const mode = values.mode;
  if (mode !== 'processes' && mode !== 'workers')
    return wrong(`--mode takes processes or workers (got ${mode})`);
  const policies = values.policy.split(',') as Compared[];
  if (!policies.every((p) => POLICIES.includes(p)) || new Set(policies).size !== policies.length)
    return wrong(`--policy takes distinct modes of ${POLICIES.join(', ')} (got ${values.policy})`);
  if (values.together && policies.length < 2) return wrong('--together compares two --policy modes or more');
  const gateways = values.gateways?.split(',').map(Number);
  if (gateways !== undefined && !gateways.every((g) => Number.isInteger(g) && g > 0))
    return wrong(`--gateways takes whole numbers above zero (got ${values.gateways})`);
  const positive = { seconds: 0, start: 0, 'p99-ms': 0, 'max-steps': 0, rounds: 0, 'per-round': 0 };
  for (const name of Object.keys(positive) as (keyof typeof positive)[]) {
    positive[name] = Number(values[name]);
    if (!(positive[name] > 0)) return wrong(`--${name} takes a number above zero (got ${values[name]})`);
  }
  const warmUp = Number(values['warm-up']);
  if (!(warmUp >= 0)) return wrong(`--warm-up takes zero seconds or more (got ${values['warm-up']})`);
  return {
    ok: true,
    options: {
      gateways,
      mode,
      policies,
      together: values.together,
      latency: values.latency,
      rounds: positive.rounds,
      perRound: positive['per-round'],
      seconds: positive.seconds,
      warmUp,
      start: positive.start,
      p99Ms: positive['p99-ms'],
      maxSteps: positive['max-steps'],
      nodeOptions: values['node-options'],
    },
  };
}
