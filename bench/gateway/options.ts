// The gateway benchmark's command line (node:util parseArgs, strict), its help text, and the CPU layout
// that --pin chooses. Pure: the machine's facts (taskset, core count) are passed in.
import { parseArgs } from 'node:util';

export const PINS = ['none', 'loadgen', 'split'] as const;
export type Pin = (typeof PINS)[number];
export const LOADGENS = ['node', 'vegeta'] as const;
export type Loadgen = (typeof LOADGENS)[number];
export const ONLY = ['cache', 'router'] as const;
export type Only = (typeof ONLY)[number];

export interface BenchOptions {
  help: boolean;
  quick: boolean;
  only: Only | undefined;
  /** undefined: vegeta when Go or a cached build is there, else the Node generator. */
  loadgen: Loadgen | undefined;
  pin: Pin;
}

export interface Machine {
  hasTaskset: boolean;
  cpuCount: number;
}

export const HELP = `Gateway benchmark: direct upstream, a bare node proxy, nginx, portkey and beastmode (with and without
policy, on node:http and through express) side by side, then the exact-cache hit path, then the cost of the
quality/cost router's decision (a weighted route beside a routed and a learning one).

Usage: npm run bench:gateway -- [options]

  --quick                     fewer rounds, shorter steps (a few minutes)
  --only cache|router         run one section only: the cache-hit benchmark, or the router decision's cost
  --loadgen node|vegeta       the fixed-rate generator; default vegeta when Go or a cached build is there,
                              else the Node generator (undici, in the benchmark's process); the router
                              section always uses the Node one (it sends a stream of different prompts)
  --pin none|loadgen|split    loadgen: vegeta on the last core (taskset); split: vegeta on the last core and
                              every server on the others; none: no pinning. Default loadgen with taskset
                              and at least 2 cores, else none
  -h, --help                  print this help
`;

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new Error(`--${flag} takes ${allowed.join(' | ')} (got ${value})`);
  }
  return value as T;
}

/** Parses the arguments after the script name; throws a message for the user on anything unknown. */
export function parseBenchOptions(argv: readonly string[], machine: Machine): BenchOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      loadgen: { type: 'string' },
      pin: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const pin = oneOf('pin', values.pin, PINS);
  if (pin !== undefined && pin !== 'none' && !machine.hasTaskset) {
    throw new Error('--pin needs taskset (util-linux)');
  }
  return {
    help: values.help,
    quick: values.quick,
    only: oneOf('only', values.only, ONLY),
    loadgen: oneOf('loadgen', values.loadgen, LOADGENS),
    pin: pin ?? (machine.hasTaskset && machine.cpuCount >= 2 ? 'loadgen' : 'none'),
  };
}

export interface CpuLayout {
  /** taskset CPU list for every server (upstream simulator, proxies, gateways, Redis); undefined: unpinned. */
  servers: string | undefined;
  /** taskset CPU list for vegeta; undefined: unpinned. */
  loadgen: string | undefined;
}

/** The cores --pin gives: the generator the last one; with split, the servers all the others. */
export function cpuLayout(pin: Pin, cpuCount: number): CpuLayout {
  const last = String(cpuCount - 1);
  const rest = cpuCount > 2 ? `0-${cpuCount - 2}` : '0';
  switch (pin) {
    case 'none':
      return { servers: undefined, loadgen: undefined };
    case 'loadgen':
      return { servers: undefined, loadgen: last };
    case 'split':
      return { servers: rest, loadgen: last };
    default: {
      const never: never = pin;
      throw new Error(`unknown pin ${String(never)}`);
    }
  }
}
