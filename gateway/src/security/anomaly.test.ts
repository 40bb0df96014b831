import { AnomalyScores, MAX_SCORE } from './anomaly.js';

const MIN = 60_000;
const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);

/** Feeds `perMinute(i)` requests for minutes [from, to) of key `key`, spread over each minute. */
function feed(
  s: AnomalyScores,
  key: string,
  from: number,
  to: number,
  perMinute: (i: number) => number,
): { minute: number; score: number }[] {
  const onsets: { minute: number; score: number }[] = [];
  for (let m = from; m < to; m++) {
    const n = perMinute(m);
    for (let k = 0; k < n; k++)
      for (const o of s.add(key, 'requests', 1, T0 + m * MIN + (k * MIN) / (n + 1)))
        onsets.push({ minute: m, score: o.score });
  }
  return onsets;
}

const score = (s: AnomalyScores, key: string, signal = 'requests') =>
  s.scores().find((x) => x.key === key && x.signal === signal)?.score;

/** A steady, noisy key: 20 ± 4 requests a minute, deterministic. */
const noisy = (m: number) => 20 + ((m * 7919) % 9) - 4;

describe('per-key anomaly scores', () => {
  test('give no score during warm-up, however large the burst', () => {
    const s = new AnomalyScores({ warmupWindows: 30 });
    expect(feed(s, 'a', 0, 10, noisy)).toEqual([]);
    feed(s, 'a', 10, 11, () => 5000);
    s.roll(T0 + 11 * MIN);
    expect(score(s, 'a')).toBe(0);
  });

  test('stay below the threshold for hours of normal noisy traffic', () => {
    const s = new AnomalyScores();
    expect(feed(s, 'a', 0, 600, noisy)).toEqual([]);
    s.roll(T0 + 600 * MIN);
    expect(score(s, 'a')).toBeLessThan(3);
  });

  test('score a tenfold burst far above the threshold, counting one onset', () => {
    const s = new AnomalyScores();
    feed(s, 'a', 0, 120, noisy);
    const onsets = feed(s, 'a', 120, 125, () => 200);
    s.roll(T0 + 125 * MIN);
    expect(onsets).toHaveLength(1);
    expect(onsets[0]?.minute).toBe(121); // the burst's first minute closes at the first request of the next
    expect(score(s, 'a')).toBeGreaterThan(20);
    expect(score(s, 'a')).toBeLessThanOrEqual(MAX_SCORE);
  });

  test('keep a sustained burst anomalous for the better part of an hour', () => {
    const s = new AnomalyScores();
    feed(s, 'a', 0, 120, noisy);
    feed(s, 'a', 120, 160, () => 200);
    s.roll(T0 + 160 * MIN);
    expect(score(s, 'a')).toBeGreaterThanOrEqual(6);
  });

  test('absorb a lasting rise in a key’s traffic within a few hours', () => {
    const s = new AnomalyScores();
    feed(s, 'a', 0, 120, () => 20);
    feed(s, 'a', 120, 150, () => 100);
    s.roll(T0 + 150 * MIN);
    expect(score(s, 'a')).toBeGreaterThan(6);
    feed(s, 'a', 150, 300, () => 100);
    s.roll(T0 + 300 * MIN);
    expect(score(s, 'a')).toBeLessThan(3);
  });

  test('score keys against their own history, not each other', () => {
    const s = new AnomalyScores();
    feed(s, 'big', 0, 120, () => 1000);
    feed(s, 'small', 0, 120, () => 2);
    feed(s, 'big', 120, 121, () => 1000);
    feed(s, 'small', 120, 121, () => 60);
    s.roll(T0 + 121 * MIN);
    expect(score(s, 'big')).toBeLessThan(1);
    expect(score(s, 'small')).toBeGreaterThan(6);
  });

  test('score spend on its own signal, with a floor for keys that spend almost nothing', () => {
    const s = new AnomalyScores();
    for (let m = 0; m < 60; m++) s.add('a', 'spend', 0.0001, T0 + m * MIN);
    s.add('a', 'spend', 0.0004, T0 + 60 * MIN);
    s.roll(T0 + 61 * MIN);
    expect(score(s, 'a', 'spend')).toBeLessThan(1);
    for (let m = 61; m < 62; m++) s.add('a', 'spend', 5, T0 + m * MIN);
    s.roll(T0 + 62 * MIN);
    expect(score(s, 'a', 'spend')).toBe(MAX_SCORE);
    expect(score(s, 'a', 'requests')).toBe(0);
  });

  test('count idle minutes as zeros, and a return to usual traffic after a long idle is not an onset', () => {
    const s = new AnomalyScores();
    feed(s, 'a', 0, 120, noisy);
    // Three days idle (beyond the replay cap): the history decays, then warm-up does not restart.
    expect(feed(s, 'a', 120 + 3 * 1440, 120 + 3 * 1440 + 5, noisy).length).toBeLessThanOrEqual(1);
    s.roll(T0 + (120 + 3 * 1440 + 5) * MIN);
    expect(Number.isFinite(score(s, 'a'))).toBe(true);
  });
});
