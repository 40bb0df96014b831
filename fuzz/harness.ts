// What every *.fuzz.test.ts shares: how many runs a property gets and from which seed (fixed in the unit
// suite, raised for a campaign by FUZZ_RUNS and FUZZ_SEED), and the committed corpus of each target,
// replayed on every run (fuzz/README.md).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type fc from 'fast-check';

export const CORPUS_DIR = path.join(import.meta.dirname, 'corpus');

/** The seed of the unit suite: the same inputs on every run, so a failure reproduces. */
export const DEFAULT_SEED = 0x5eed_f022;

function positiveIntEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, not ${raw}`);
  return n;
}

/** FUZZ_RUNS=n runs every property n times instead of its own modest count. */
export const CAMPAIGN_RUNS = positiveIntEnv('FUZZ_RUNS');

/** FUZZ_SEED=n replays a seed fast-check reported; FUZZ_SEED=random draws one (printed on failure). */
function seed(): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return DEFAULT_SEED;
  if (raw === 'random') return (Date.now() ^ (process.pid << 16)) | 0;
  const n = Number(raw);
  if (!Number.isInteger(n)) throw new Error(`FUZZ_SEED must be an integer or "random", not ${raw}`);
  return n;
}

export const FUZZ_SEED = seed();

/** FUZZ_PATH=p (with FUZZ_SEED and `-t` naming the test) replays the counterexample fast-check reported. */
const FUZZ_PATH = process.env.FUZZ_PATH || undefined;

/** The parameters of one property: its own run count (or the campaign's) from the suite's seed. */
export function fuzzParams<T>(numRuns: number): fc.Parameters<T> {
  return {
    numRuns: CAMPAIGN_RUNS ?? numRuns,
    seed: FUZZ_SEED,
    ...(FUZZ_PATH !== undefined ? { path: FUZZ_PATH, endOnFailure: true } : {}),
  };
}

/** A test's time limit: a minute in the unit suite, a day for a campaign. */
export const FUZZ_TIMEOUT_MS = CAMPAIGN_RUNS === undefined ? 60_000 : 24 * 3_600_000;

export interface CorpusFile {
  /** The file's name within its target's folder. */
  name: string;
  bytes: Buffer;
  /** The bytes as UTF-8. */
  text: string;
}

/**
 * The corpus of a target, fuzz/corpus/<target>/*, sorted by name; throws when there is none, so a corpus
 * that went missing fails the suite rather than replaying nothing. README.md files are not inputs.
 */
export function corpus(target: string): CorpusFile[] {
  const dir = path.join(CORPUS_DIR, target);
  const names = readdirSync(dir)
    .filter((n) => n !== 'README.md' && !n.startsWith('.'))
    .sort();
  if (names.length === 0) throw new Error(`no corpus in ${dir}`);
  return names.map((name) => {
    const bytes = readFileSync(path.join(dir, name));
    return { name, bytes, text: bytes.toString('utf8') };
  });
}
