// The policy comparison of bench:scale: CPU per served request, compared at the rates every mode ran,
// against "off".
import { describe, expect, it } from '@jest/globals';
import {
  comparePolicies,
  cpuMicrosPerRequest,
  formatPolicyCosts,
  requests,
  together,
  type Compared,
  type MeasuredStep,
} from './compare.js';
import type { PolicyMode } from './fleet.js';

/** A step of `rate`/s for 10 s costing `micros` µs of gateway CPU a request. */
const step = (rate: number, micros: number, pass = true): MeasuredStep => ({
  rate,
  served: rate * 10,
  gatewayCpuSeconds: (rate * 10 * micros) / 1e6,
  pass,
});

describe('bench:scale policy comparison', () => {
  it('reads CPU per served request, and nothing from a step that served nothing', () => {
    expect(cpuMicrosPerRequest(step(1000, 250))).toBeCloseTo(250, 6);
    expect(cpuMicrosPerRequest({ rate: 1000, served: 0, gatewayCpuSeconds: 1, pass: false })).toBeNaN();
  });

  it('compares each mode with off at the rates all of them ran', () => {
    const byPolicy = new Map<PolicyMode, MeasuredStep[]>([
      ['off', [step(1000, 200), step(1500, 220), step(2250, 240), step(3375, 260, false)]],
      ['on', [step(1000, 210), step(1500, 230), step(2250, 250, false)]],
      ['full', [step(1000, 260), step(1500, 280, false)]],
    ]);
    const { rates, costs } = comparePolicies(byPolicy);
    expect(rates).toEqual([1000, 1500]);
    const [off, on, full] = costs;
    // Only 1000/s and 1500/s were run by all three: the medians are the means of those two.
    expect(off).toMatchObject({ policy: 'off', cpuMicros: 210, vsOff: 1, largestPassing: 2250 });
    expect(on?.cpuMicros).toBeCloseTo(220, 6);
    expect(on?.vsOff).toBeCloseTo(220 / 210, 6);
    expect(on?.largestPassing).toBe(1500);
    expect(full?.cpuMicros).toBeCloseTo(270, 6);
    expect(full?.vsOff).toBeCloseTo(270 / 210, 6);
    expect(full?.perCore).toBeCloseTo(1e6 / 270, 6);
    expect(full?.largestPassing).toBe(1000);
  });

  it('has no ratio without an off run, and no passing rate when every step failed', () => {
    const [on] = comparePolicies(new Map([['on', [step(1000, 300, false)]]])).costs;
    expect(on).toMatchObject({ policy: 'on', cpuMicros: 300, vsOff: undefined, largestPassing: undefined });
    expect(formatPolicyCosts([on!], [1000])).toEqual([
      '  policy on      300 µs CPU/request (≈ 3,333/s a core; median over 1000/s)  largest passing none',
    ]);
  });

  it('prints the ratio to off for every other mode', () => {
    const { rates, costs } = comparePolicies(
      new Map<PolicyMode, MeasuredStep[]>([
        ['off', [step(1000, 200), step(1500, 210)]],
        ['full', [step(1000, 250), step(1500, 262.5)]],
      ]),
    );
    const lines = formatPolicyCosts(costs, rates);
    expect(lines[0]).toContain('median over 1000, 1500/s');
    expect(lines[0]).not.toContain('× off');
    expect(lines[1]).toContain('1.25× off');
    expect(lines[1]).toContain('largest passing 1500/s');
  });

  it('compares every mode with the bare proxy too, and the bare proxy with nothing', () => {
    const { rates, costs } = comparePolicies(
      new Map<Compared, MeasuredStep[]>([
        ['bare', [step(1000, 100), step(1500, 100), step(2250, 100)]],
        ['off', [step(1000, 160), step(1500, 160)]],
        ['on', [step(1000, 170), step(1500, 170)]],
      ]),
    );
    expect(rates).toEqual([1000, 1500]);
    const [bare, off, on] = costs;
    expect(bare).toMatchObject({ policy: 'bare', cpuMicros: 100, vsBare: 1, largestPassing: 2250 });
    expect(on?.vsBare).toBeCloseTo(1.7, 6);
    const lines = formatPolicyCosts(costs, rates);
    expect(lines[0]).toBe(
      '  bare proxy     100 µs CPU/request (≈ 10,000/s a core; median over 1000, 1500/s)  largest passing 2250/s',
    );
    expect(lines[1]).toContain('(≈ 6,250/s a core; median over 1000, 1500/s)  1.60× bare');
    expect(lines[1]).not.toContain('× off');
    expect(lines[2]).toContain('1.06× off  1.70× bare');
    expect(off?.vsBare).toBeCloseTo(1.6, 6);
  });
});

describe('bench:scale requests', () => {
  const target = (name: string, port: number) => ({
    name,
    origin: `http://127.0.0.1:${port}`,
    path: '/v1/chat/completions',
    headers: {},
  });
  const on = [target('on', 1), target('on', 2)];
  const full = [target('full', 3)];

  it('sends one request to every mode but full, whose requests are all distinct (every one a miss)', () => {
    expect(requests('on', on, 's', 100)).toBe(on);
    const distinct = requests('full', full, 's', 100);
    expect(new Set(distinct.map((t) => t.body)).size).toBe(100);
  });

  it('together: the modes in turn, each offered the same share, full still distinct', () => {
    const batch = together(
      [
        { policy: 'on', targets: on },
        { policy: 'full', targets: full },
      ],
      'step',
      10,
    );
    expect(batch).toHaveLength(20);
    expect(batch.map((t) => t.name)).toEqual(Array.from({ length: 10 }, () => ['on', 'full']).flat());
    // The on gateways in turn, as vegeta spreads one mode's requests over its G gateways.
    expect(batch.filter((t) => t.name === 'on').map((t) => t.origin)).toEqual(
      Array.from({ length: 5 }, () => ['http://127.0.0.1:1', 'http://127.0.0.1:2']).flat(),
    );
    expect(new Set(batch.filter((t) => t.name === 'full').map((t) => t.body)).size).toBe(10);
  });
});
