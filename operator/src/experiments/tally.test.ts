import { describe, expect, it } from '@jest/globals';
import { countersFromText, counterKey, tallyDelta, type Counters, type ScrapeResult } from './tally.js';

const target = { namespace: 'llm', route: 'chat', experiment: 'prompt' };

function text(rows: { variant: string; metric: string; n: number; sum: number; sq: number; exp?: string }[]) {
  const labels = (r: (typeof rows)[number]) =>
    `namespace="llm",route="chat",experiment="${r.exp ?? 'prompt'}",variant="${r.variant}",metric="${r.metric}"`;
  return [
    '# TYPE beastmode_experiment_observations_total counter',
    ...rows.map((r) => `beastmode_experiment_observations_total{${labels(r)}} ${r.n}`),
    ...rows.map((r) => `beastmode_experiment_value_sum{${labels(r)}} ${r.sum}`),
    ...rows.map((r) => `beastmode_experiment_value_squares_sum{${labels(r)}} ${r.sq}`),
    'beastmode_requests_total{route="chat"} 12',
  ].join('\n');
}

const c = (entries: [string, string, number, number, number][]): Counters =>
  new Map(entries.map(([v, m, count, sum, sumSquares]) => [counterKey(v, m), { count, sum, sumSquares }]));

const scrape = (pods: Record<string, Counters>, failed: string[] = []): ScrapeResult => ({
  pods: new Map(Object.entries(pods)),
  failed,
});

describe('countersFromText', () => {
  it('reads the three series of this experiment only, per variant and metric', () => {
    const counters = countersFromText(
      text([
        { variant: 'a', metric: 'latency-ms', n: 3, sum: 30, sq: 320 },
        { variant: 'b', metric: 'latency-ms', n: 2, sum: 10, sq: 52 },
        { variant: 'a', metric: 'latency-ms', n: 99, sum: 99, sq: 99, exp: 'other' },
      ]),
      target,
    );
    expect(counters).toEqual(
      c([
        ['a', 'latency-ms', 3, 30, 320],
        ['b', 'latency-ms', 2, 10, 52],
      ]),
    );
  });
});

describe('tallyDelta', () => {
  it('takes the first scrape as a baseline, then per-pod differences summed over pods', () => {
    const first = tallyDelta(undefined, 'h1', scrape({ p1: c([['a', 'm', 10, 100, 1000]]) }));
    expect(first.delta.size).toBe(0);
    const second = tallyDelta(
      first.memory,
      'h1',
      scrape({ p1: c([['a', 'm', 15, 150, 1500]]), p2: c([['a', 'm', 4, 40, 400]]) }),
    );
    // p1 added 5; p2 is new since the baseline and counts in full.
    expect(second.delta).toEqual(c([['a', 'm', 9, 90, 900]]));
  });

  it('a counter that went down is a restarted pod: its current values are the delta', () => {
    const base = tallyDelta(undefined, 'h1', scrape({ p1: c([['a', 'm', 50, 500, 5000]]) })).memory;
    const { delta } = tallyDelta(base, 'h1', scrape({ p1: c([['a', 'm', 3, 30, 300]]) }));
    expect(delta).toEqual(c([['a', 'm', 3, 30, 300]]));
  });

  it('a series that vanished is a restart too, and a new series of a known pod counts from 0', () => {
    const base = tallyDelta(undefined, 'h1', scrape({ p1: c([['a', 'm', 5, 5, 5]]) })).memory;
    const gone = tallyDelta(base, 'h1', scrape({ p1: c([['b', 'm', 2, 2, 2]]) }));
    expect(gone.delta).toEqual(c([['b', 'm', 2, 2, 2]]));
    const added = tallyDelta(
      base,
      'h1',
      scrape({
        p1: c([
          ['a', 'm', 6, 6, 6],
          ['b', 'm', 1, 1, 1],
        ]),
      }),
    );
    expect(added.delta).toEqual(
      c([
        ['a', 'm', 1, 1, 1],
        ['b', 'm', 1, 1, 1],
      ]),
    );
  });

  it('a pod that failed keeps its last counters; a pod that failed the baseline gets its baseline later', () => {
    const base = tallyDelta(undefined, 'h1', scrape({ p1: c([['a', 'm', 5, 5, 5]]) }, ['p2'])).memory;
    const failed = tallyDelta(base, 'h1', scrape({ p2: c([['a', 'm', 100, 100, 100]]) }, ['p1']));
    expect(failed.delta.size).toBe(0); // p2's first answer is its baseline
    const back = tallyDelta(
      failed.memory,
      'h1',
      scrape({ p1: c([['a', 'm', 7, 7, 7]]), p2: c([['a', 'm', 101, 101, 101]]) }),
    );
    expect(back.delta).toEqual(c([['a', 'm', 3, 3, 3]]));
  });

  it('drops pods no longer listed, and a new design starts from a fresh baseline', () => {
    const base = tallyDelta(undefined, 'h1', scrape({ p1: c([['a', 'm', 5, 5, 5]]) })).memory;
    const gone = tallyDelta(base, 'h1', scrape({ p2: c([['a', 'm', 1, 1, 1]]) }));
    expect([...gone.memory.pods.keys()]).toEqual(['p2']);
    const redesigned = tallyDelta(gone.memory, 'h2', scrape({ p2: c([['a', 'm', 9, 9, 9]]) }));
    expect(redesigned.delta.size).toBe(0);
    expect(redesigned.memory.specHash).toBe('h2');
  });
});
