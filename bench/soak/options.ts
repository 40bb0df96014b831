// The soak's command line (node:util parseArgs, strict) and its help text. Pure.
import { parseArgs } from 'node:util';

export const DEFAULT_MINUTES = 60;
/**
 * What one gateway process holds comfortably on a 2-core machine beside the simulator and vegeta: about
 * 1 ms of CPU a request (measured 26–28% of a core at 250/s and at 300/s, the machine's load 2–6), so 250
 * keeps it under 30%.
 */
export const DEFAULT_RATE = 250;

export interface SoakOptions {
  help: boolean;
  /** Length of the run in one-minute windows; the first is the warm-up. */
  minutes: number;
  /** Requests per second, fixed (open loop). */
  rate: number;
}

export const HELP = `Gateway soak: one gateway CLI process in front of the simulator, offered a fixed rate by vegeta for
--minutes one-minute windows. Each window prints offered and served requests, latency from the send
(p50/p99/max), errors, the gateway's CPU, resident memory, open file descriptors, event-loop delay, the V8
heap and the live heap (what a major collection left: the gateway runs with --trace-gc), and the machine's
load. At the end a verdict compares the first windows after the warm-up minute with the last ones for
descriptors, p99 and event-loop delay p99, and the middle of the run with its end for resident memory and the
live heap; it exits 1 when one of them is broken.

Usage: npm run bench:soak -- [options]

  --minutes M    length of the run in minutes, at least 2 (the first is the warm-up); default ${DEFAULT_MINUTES}
  --rate R       requests per second; default ${DEFAULT_RATE}
  -h, --help     print this help
`;

function positiveInteger(flag: string, value: string | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new Error(`--${flag} takes a whole number ≥ ${min} (got ${value})`);
  return n;
}

/** Parses the arguments after the script name; throws a message for the user on anything unknown. */
export function parseSoakOptions(argv: readonly string[]): SoakOptions {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      help: { type: 'boolean', short: 'h', default: false },
      minutes: { type: 'string' },
      rate: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  return {
    help: values.help,
    minutes: positiveInteger('minutes', values.minutes, DEFAULT_MINUTES, 2),
    rate: positiveInteger('rate', values.rate, DEFAULT_RATE, 1),
  };
}
