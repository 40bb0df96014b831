import { SeriesStore } from './series.js';
import { CanaryTimelines } from './timeline.js';
import { parseQuantity } from './collector.js';
import type { CanaryView } from './views.js';

describe('SeriesStore', () => {
  test('keeps the last `capacity` samples, oldest first, with gaps as null', () => {
    const s = new SeriesStore({ capacity: 3, maxOwners: 2, maxFigures: 10 });
    for (let t = 1; t <= 5; t++) s.record('route/a/x', t, t === 4 ? { rps: t } : { rps: t, err: t / 10 });
    expect(s.dump('route/a/x')).toEqual({ at: [3, 4, 5], values: { rps: [3, 4, 5], err: [0.3, null, 0.5] } });
  });

  test('does not grow past its caps on objects and figures', () => {
    const s = new SeriesStore({ capacity: 4, maxOwners: 2, maxFigures: 3 });
    s.record('a', 1, { x: 1, y: 1 });
    s.record('b', 1, { x: 1, y: 1 });
    s.record('c', 1, { x: 1 });
    expect(s.dump('c')).toBeUndefined();
    expect(s.figureCount).toBe(3);
    expect(Object.keys(s.dump('b')?.values ?? {})).toEqual(['x']);
    s.retain((k) => k === 'b');
    expect(s.figureCount).toBe(1);
  });
});

describe('CanaryTimelines', () => {
  const view = (over: Partial<CanaryView>): CanaryView =>
    ({ key: 'canary/a/x', phase: 'Progressing', weight: 10, currentStep: 0, ...over }) as CanaryView;

  test('records moves and analysis windows, not repeats, within a bound', () => {
    const t = new CanaryTimelines(3);
    expect(t.observe(view({}), 1)).toBe(true);
    expect(t.observe(view({}), 2)).toBe(false);
    expect(t.observe(view({ lastAnalysis: { verdict: 'passed', canary: { requests: 5 } } }), 3)).toBe(true);
    expect(t.observe(view({ weight: 50, currentStep: 1 }), 4)).toBe(true);
    expect(t.observe(view({ weight: 100, currentStep: 2, phase: 'Succeeded' }), 5)).toBe(true);
    expect(t.of('canary/a/x').map((e) => e.at)).toEqual([3, 4, 5]);
    expect(t.of('canary/a/x')[0]?.analysis?.verdict).toBe('passed');
  });
});

test('parseQuantity reads the HPA quantities', () => {
  expect(parseQuantity('350m')).toBeCloseTo(0.35);
  expect(parseQuantity('12')).toBe(12);
  expect(parseQuantity('2k')).toBe(2000);
  expect(parseQuantity('abc')).toBeUndefined();
});
