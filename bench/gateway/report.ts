// The benchmark's text report, from plain results: every step of every sweep as measured
// (`rate → p50/p99 ms (achieved/s, errors)`, ✗ on a failing step) beside the largest passing rate, the
// machine's load before and after each section, the ratios between targets and the CPU profile summaries.
import type { LoadSpan } from '../lib/processes.js';
import { summariseProfile, type CpuProfile } from '../lib/profile.js';
import { CACHE_P99_MS, type CacheResults } from './cache.js';
import { median, type AddedLatency } from './latency.js';
import { largestPassing, type Step, type SweepPlan, type Throughput } from './rates.js';

export interface ComparisonResults {
  quick: boolean;
  /** The generator's description (generator.ts). */
  generator: string;
  /** Target names in the order they were measured, "direct" first. */
  targets: string[];
  latency: { result: AddedLatency; load: LoadSpan };
  fixedRate: { plan: SweepPlan; result: Map<string, Step[]>; load: LoadSpan };
  closedLoop: { concurrency: number; seconds: number; result: Map<string, Throughput>; load: LoadSpan };
  profile: CpuProfile | undefined;
}

const NAME = 20;

export function formatLoad(load: LoadSpan): string {
  return `  machine before: ${load.before}; after: ${load.after}`;
}

export function formatStep(s: Step): string {
  const line = `${s.rate} → ${s.p50.toFixed(2)}/${s.p99.toFixed(2)} (${Math.round(s.achieved)}, ${s.errors})`;
  return s.passed ? line : `${line} ✗`;
}

/** One target's sweep: the largest passing rate, then every step run. */
export function formatSweep(name: string, steps: readonly Step[]): string {
  const b = largestPassing(steps);
  const head = b ? `${b.rate}/s (p50 ${b.p50.toFixed(2)}, p99 ${b.p99.toFixed(2)} ms)` : 'none';
  return `${name.padEnd(NAME)} ${head.padStart(34)}   ${steps.map(formatStep).join('; ')}`;
}

function sweepHeader(plan: SweepPlan): string[] {
  return [
    `  ${plan.seconds}s steps, each run once; a step ${plan.rule.description}`,
    `${'target'.padEnd(NAME)} ${'largest passing rate'.padStart(34)}   steps: rate → p50/p99 ms (achieved/s, errors)`,
  ];
}

function formatLatency(r: AddedLatency, load: LoadSpan, targets: readonly string[]): string[] {
  const out = [
    `(a) Added latency at concurrency 1: ${r.rounds} rounds × ${r.perRound} sequential requests, rounds interleaved across targets; median of per-round medians`,
    formatLoad(load),
    `${'direct'.padEnd(NAME)} ${`${median(r.direct).toFixed(3)} ms`.padStart(12)}   (the upstream's own median latency)`,
  ];
  for (const name of targets.filter((n) => n !== 'direct')) {
    out.push(`${name.padEnd(NAME)} ${`+${median(r.added.get(name) ?? []).toFixed(3)} ms`.padStart(12)}`);
  }
  return out;
}

function formatClosedLoop(c: ComparisonResults['closedLoop'], targets: readonly string[]): string[] {
  const out = [
    `(c) Closed loop at concurrency ${c.concurrency} for ${c.seconds}s (CPU cost per request, less sensitive to latency spikes)`,
    formatLoad(c.load),
  ];
  for (const name of targets) {
    const t = c.result.get(name);
    const text = t ? `${Math.round(t.rps)}/s, ${t.errors} errors` : 'not run';
    out.push(`${name.padEnd(NAME)} ${text.padStart(20)}`);
  }
  return out;
}

function formatRatios(r: ComparisonResults): string {
  const rate = (n: string) => largestPassing(r.fixedRate.result.get(n) ?? [])?.rate;
  const loop = (n: string) => {
    const t = r.closedLoop.result.get(n);
    return t && t.errors === 0 ? t.rps : undefined;
  };
  const times = (x: number | undefined, y: number | undefined) => (x && y ? `${(x / y).toFixed(2)}×` : 'n/a');
  const ratio = (a: string, b: string) =>
    `${times(rate(a), rate(b))} (closed loop ${times(loop(a), loop(b))})`;
  return (
    `largest passing rate, beastmode vs portkey: ${ratio('beastmode', 'portkey')}, vs nginx: ${ratio('beastmode', 'nginx')}, ` +
    `node:http vs express (both without policy): ${ratio('beastmode-no-policy', 'beastmode-express')}, ` +
    `vs the bare node proxy: ${ratio('beastmode', 'bare-node-proxy')}, ` +
    `without policy vs the bare node proxy: ${ratio('beastmode-no-policy', 'bare-node-proxy')}`
  );
}

const profileOf = (subject: string, p: CpuProfile) =>
  summariseProfile(p, { subject, ownCode: '/gateway/src/', ownCodeArea: 'beastmode code' });

export function formatComparison(r: ComparisonResults): string {
  const out = [`Gateway benchmark${r.quick ? ' (quick)' : ''}`, r.generator, ''];
  out.push(...formatLatency(r.latency.result, r.latency.load, r.targets), '');
  out.push(`(b) Fixed rate`, formatLoad(r.fixedRate.load), ...sweepHeader(r.fixedRate.plan));
  for (const name of r.targets) out.push(formatSweep(name, r.fixedRate.result.get(name) ?? []));
  out.push('', ...formatClosedLoop(r.closedLoop, r.targets), '', formatRatios(r));
  if (r.profile !== undefined) out.push('', profileOf('beastmode', r.profile));
  return out.join('\n');
}

export function formatCache(c: CacheResults, generator: string): string {
  const out = [
    `(d) Cache hits (exact cache in memory and in Redis, one ${c.requestBytes}-byte request; cache-semantic: a rewording ` +
      `of the cached question, each request an exact miss and a semantic hit; open loop; target ≥ 10,000 hits/s with p99 < ${CACHE_P99_MS} ms)`,
    generator,
    formatLoad(c.load),
    ...sweepHeader(c.plan),
  ];
  for (const [name, steps] of c.steps) out.push(formatSweep(name, steps));
  out.push(
    `upstream requests during the hit runs: ${c.upstreamDuring} (must be 0); hits counted by the gateways: ${c.hitsSeen}`,
  );
  if (c.profile !== undefined) out.push('', profileOf('beastmode (cache hits, memory)', c.profile));
  return out.join('\n');
}
