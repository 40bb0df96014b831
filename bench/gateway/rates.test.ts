// Sweeps stepped with a fake generator: every step runs once and is kept as measured, the rule decides
// which steps pass and where the sweep ends, and the report shows every step beside the largest passing rate.
import { describe, expect, it } from '@jest/globals';
import type { RateResult } from '../lib/loadgen.js';
import { capacityRule, largestPassing, latencyBoundRule, sweep } from './rates.js';
import { formatStep, formatSweep } from './report.js';

const RATES = [100, 200, 300, 400];
const ok = (rate: number, p99 = 1): RateResult => ({
  rate,
  sent: rate,
  errors: 0,
  p50: 0.5,
  p99,
  achieved: rate,
});
const noPause = () => Promise.resolve();

/** A generator that answers each rate from a table and records every call. */
function fake(answers: Record<number, RateResult>) {
  const calls: number[] = [];
  const run = (rate: number) => {
    calls.push(rate);
    return Promise.resolve(answers[rate] ?? ok(rate));
  };
  return { calls, run };
}

describe('fixed-rate sweep', () => {
  it('runs a failing step once, keeps it as measured and ends there under the latency bound', async () => {
    const g = fake({ 300: ok(300, 12) });
    const steps = await sweep(RATES, g.run, latencyBoundRule(10), noPause);
    expect(g.calls).toEqual([100, 200, 300]);
    expect(steps.map((s) => [s.rate, s.p99, s.passed])).toEqual([
      [100, 1, true],
      [200, 1, true],
      [300, 12, false],
    ]);
    expect(largestPassing(steps)?.rate).toBe(200);
  });

  it('ends the latency-bound sweep at a step with errors even when its p99 is low', async () => {
    const g = fake({ 200: { ...ok(200), errors: 3 } });
    const steps = await sweep(RATES, g.run, latencyBoundRule(10), noPause);
    expect(g.calls).toEqual([100, 200]);
    expect(largestPassing(steps)?.rate).toBe(100);
  });

  it('under the capacity rule goes on past a p99-only failure and ends at lost capacity', async () => {
    const g = fake({ 200: ok(200, 9), 400: { ...ok(400), achieved: 300 } });
    const steps = await sweep(RATES, g.run, capacityRule(5), noPause);
    expect(g.calls).toEqual([100, 200, 300, 400]);
    expect(steps.map((s) => s.passed)).toEqual([true, false, true, false]);
    expect(largestPassing(steps)?.rate).toBe(300);
  });

  it('pauses between steps, not before the first or after the last', async () => {
    let pauses = 0;
    await sweep(RATES, fake({}).run, latencyBoundRule(10), () => {
      pauses++;
      return Promise.resolve();
    });
    expect(pauses).toBe(RATES.length - 1);
  });

  it('has no largest passing rate when no step passed', async () => {
    const steps = await sweep(RATES, fake({ 100: ok(100, 50) }).run, latencyBoundRule(10), noPause);
    expect(largestPassing(steps)).toBeUndefined();
    expect(formatSweep('portkey', steps)).toMatch(/^portkey\s+none\s+100 → 0\.50\/50\.00 \(100, 0\) ✗$/);
  });

  it('reports every step as rate → p50/p99 (achieved, errors), marking failures', async () => {
    const steps = await sweep(RATES, fake({ 300: ok(300, 12) }).run, latencyBoundRule(10), noPause);
    expect(steps.map(formatStep)).toEqual([
      '100 → 0.50/1.00 (100, 0)',
      '200 → 0.50/1.00 (200, 0)',
      '300 → 0.50/12.00 (300, 0) ✗',
    ]);
    expect(formatSweep('beastmode', steps)).toContain('200/s (p50 0.50, p99 1.00 ms)');
  });
});
