// What the demo prints: steps, a live line per canary tick, and the closing summary.
import type { CanaryStatus } from '../../api/v1alpha1/index.js';
import { percentile, type Sample } from './traffic.js';

export interface RolloutResult {
  title: string;
  phase: string;
  seconds: number;
  rollbackSeconds: number | undefined;
}

const t0 = Date.now();
const clock = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

interface VariantLine {
  requests: number;
  errorRate: number;
  p95: number;
}

function figures(samples: Sample[]): VariantLine {
  const errors = samples.filter((s) => !s.ok).length;
  return {
    requests: samples.length,
    errorRate: samples.length ? errors / samples.length : 0,
    p95: percentile(
      samples.map((s) => s.latencyMs),
      95,
    ),
  };
}

export class View {
  private lastProgress = '';
  private lastPrintAt = 0;
  private muted = false;

  /** From now on only line() prints: the live view stops while the demo shuts down. */
  mute(): void {
    this.endLive();
    this.muted = true;
  }

  constructor(private readonly live: boolean) {}

  step(text: string): void {
    this.endLive();
    process.stdout.write(`\n${clock()} ▶ ${text}\n`);
  }

  detail(text: string): void {
    this.endLive();
    process.stdout.write(`${clock()}   ${text}\n`);
  }

  section(text: string): void {
    this.endLive();
    process.stdout.write(`\n${clock()} ━━ ${text} ━━\n`);
  }

  line(text: string): void {
    this.endLive();
    process.stdout.write(`${text}\n`);
  }

  /** One line per tick: the canary's state and what the clients saw per variant over the last window. */
  progress(status: CanaryStatus | undefined, samples: Sample[], windowMs: number): void {
    if (this.muted) return;
    const now = Date.now();
    const recent = samples.filter((s) => s.at >= now - windowMs && s.cache !== 'hit');
    const stable = figures(recent.filter((s) => s.variant !== 'canary'));
    const canary = figures(recent.filter((s) => s.variant === 'canary'));
    const clientErrors = samples.filter((s) => !s.ok).length;
    const a = status?.lastAnalysis;
    const fb = (v: number | undefined) => (v === undefined ? '  –  ' : v.toFixed(2));
    const cost = (v: number | undefined) => (v === undefined ? '–' : `$${v.toFixed(6)}`);
    const text =
      `${(status?.phase ?? 'Pending').padEnd(11)} weight ${String(status?.canaryWeight ?? 0).padStart(3)}% ` +
      `step ${status?.currentStep ?? 0} │ stable ${String(stable.requests).padStart(4)} req ` +
      `err ${pct(stable.errorRate).padStart(5)} p95 ${stable.p95.toFixed(0).padStart(4)}ms ` +
      `fb ${fb(a?.stable?.feedbackScore)} │ canary ${String(canary.requests).padStart(4)} req ` +
      `err ${pct(canary.errorRate).padStart(5)} p95 ${canary.p95.toFixed(0).padStart(4)}ms ` +
      `${cost(a?.canary?.costPerRequest)}/req fb ${fb(a?.canary?.feedbackScore)} │ client errors ${clientErrors}` +
      (a ? ` │ last analysis: ${a.verdict}` : '');
    if (this.live) {
      process.stdout.write(`\r\x1b[2K${clock()}   ${text}`);
      this.lastProgress = text;
      return;
    }
    const key = `${status?.phase}-${status?.canaryWeight}-${a?.verdict}`;
    if (key !== this.lastProgress || now - this.lastPrintAt > 5000) {
      process.stdout.write(`${clock()}   ${text}\n`);
      this.lastProgress = key;
      this.lastPrintAt = now;
    }
  }

  private endLive(): void {
    if (this.live && this.lastProgress) process.stdout.write('\n');
    this.lastProgress = '';
  }
}

export function summaryTable(
  samples: Sample[],
  rollouts: RolloutResult[],
  prices: Record<string, { input: number; output: number }>,
): { text: string; problems: string[] } {
  const total = samples.length;
  const errors = samples.filter((s) => !s.ok).length;
  const hits = samples.filter((s) => s.cache === 'hit').length;
  const price = (backend: string, s: Sample) => {
    const p = prices[backend] ?? { input: 0, output: 0 };
    return (s.inputTokens * p.input + s.outputTokens * p.output) / 1e6;
  };
  const premium = samples.reduce((sum, s) => sum + price('premium', s), 0);
  const actual = samples.reduce((sum, s) => sum + (s.cache === 'hit' ? 0 : price(s.backend, s)), 0);
  const rows: [string, string][] = [
    ['requests', String(total)],
    ['client error rate', `${pct(total ? errors / total : 0)} (${errors} errors)`],
    [
      'p95 latency',
      `${percentile(
        samples.map((s) => s.latencyMs),
        95,
      ).toFixed(0)} ms`,
    ],
    ['cache hit rate', pct(total ? hits / total : 0)],
    ['cost', `$${actual.toFixed(4)} vs $${premium.toFixed(4)} always-premium`],
    ['cost saved by routing and cache', pct(premium > 0 ? 1 - actual / premium : 0)],
    ...rollouts.map(
      (r) =>
        [
          r.title,
          `${r.phase} in ${r.seconds.toFixed(1)}s` +
            (r.rollbackSeconds !== undefined
              ? `; bad version taking traffic → weight 0 in ${r.rollbackSeconds.toFixed(1)}s`
              : ''),
        ] as [string, string],
    ),
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const text = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`).join('\n');
  const problems: string[] = [];
  if (total === 0) problems.push('no traffic was served');
  if (errors > 0)
    problems.push(`${errors} client-visible errors (a healthy backend was available throughout)`);
  if (hits === 0) problems.push('no cache hits');
  const [good, bad] = rollouts;
  if (good?.phase !== 'Succeeded') problems.push('the healthy version was not promoted');
  if (bad?.phase !== 'RolledBack') problems.push('the bad version was not rolled back');
  if (bad?.rollbackSeconds !== undefined && bad.rollbackSeconds > 60) {
    problems.push(`rollback took ${bad.rollbackSeconds.toFixed(1)}s (over a minute)`);
  }
  return { text, problems };
}
