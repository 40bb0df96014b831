// bench:scale --latency's arithmetic: added latency over the direct upstream, round by round, and the
// ratio to the bare proxy taken within each round before the median.
import { describe, expect, it } from '@jest/globals';
import { addedLatency, formatRound, type LatencyRound } from './latency.js';

const round = (direct: number, bare: number, on: number): LatencyRound =>
  new Map([
    ['direct', direct],
    ['bare', bare],
    ['on', on],
  ]);

describe('bench:scale added latency at concurrency 1', () => {
  it('takes each subject minus direct per round, the median over rounds, and the ratio to bare per round', () => {
    // Round 2 is slow for everyone (direct too): subtracting its own direct keeps it from counting.
    const rounds = [round(1.0, 1.4, 1.5), round(3.0, 3.5, 3.6), round(1.1, 1.5, 1.7)];
    const [bare, on] = addedLatency(rounds);
    expect(bare?.name).toBe('bare');
    expect(bare?.addedMs).toBeCloseTo(0.4, 9);
    expect(bare?.vsBare).toBeCloseTo(1, 9);
    expect(on?.name).toBe('on');
    // Added 0.5, 0.6, 0.6 → 0.6; ratios 1.25, 1.2, 1.5 → 1.25 (not 0.6 / 0.4 = 1.5, the ratio of medians).
    expect(on?.addedMs).toBeCloseTo(0.6, 9);
    expect(on?.vsBare).toBeCloseTo(1.25, 9);
  });

  it('gives no ratio without a bare proxy, and the median of an even count is the mean of the middle two', () => {
    const rounds = [1, 2, 3, 4].map(
      (k) =>
        new Map([
          ['direct', 1],
          ['full', 1 + k / 10],
        ]) as LatencyRound,
    );
    const [full] = addedLatency(rounds);
    expect(full?.addedMs).toBeCloseTo(0.25, 9);
    expect(full?.vsBare).toBeUndefined();
  });

  it('prints a round as direct, then what each adds, with its ratio to bare', () => {
    expect(formatRound(round(1.2345, 1.6845, 1.8))).toBe('direct 1.234  bare +0.450  on +0.566 (1.26× bare)');
  });
});
