import { describe, expect, it } from '@jest/globals';
import { histogramQuantile } from './histogram.js';
import { parsePrometheusText } from './prom-text.js';

describe('parsePrometheusText', () => {
  it('reads samples with labels, escapes, special values and timestamps, skipping comments', () => {
    const text = [
      '# HELP x_total An x',
      '# TYPE x_total counter',
      'x_total{a="1",b="q\\"uo\\\\te\\n"} 42',
      'y 3.5 1700000000000',
      'z_bucket{le="+Inf"} +Inf',
      'w NaN',
      '',
    ].join('\n');
    const s = parsePrometheusText(text);
    expect(s[0]).toEqual({ name: 'x_total', labels: { a: '1', b: 'q"uo\\te\n' }, value: 42 });
    expect(s[1]).toEqual({ name: 'y', labels: {}, value: 3.5 });
    expect(s[2]?.value).toBe(Number.POSITIVE_INFINITY);
    expect(Number.isNaN(s[3]?.value)).toBe(true);
  });

  it('keeps only the families asked for and reports a malformed line by number', () => {
    expect(parsePrometheusText('a 1\nb 2', (n) => n === 'b')).toEqual([{ name: 'b', labels: {}, value: 2 }]);
    expect(() => parsePrometheusText('a 1\nb{x="1} 2')).toThrow('line 2');
    expect(() => parsePrometheusText('a nope')).toThrow('line 1: bad value');
  });
});

describe('histogramQuantile', () => {
  it('interpolates linearly inside the bucket holding the rank', () => {
    const b = [
      { le: 0.1, count: 50 },
      { le: 0.2, count: 90 },
      { le: 0.5, count: 100 },
      { le: Number.POSITIVE_INFINITY, count: 100 },
    ];
    // rank 95 lies half-way into (0.2, 0.5]: 0.2 + 0.3 * 5/10
    expect(histogramQuantile(0.95, b)).toBeCloseTo(0.35);
    expect(histogramQuantile(0.5, b)).toBeCloseTo(0.1);
  });

  it('answers the highest finite bound for a rank in +Inf, and nothing without observations', () => {
    expect(
      histogramQuantile(0.95, [
        { le: 1, count: 1 },
        { le: Number.POSITIVE_INFINITY, count: 10 },
      ]),
    ).toBe(1);
    expect(histogramQuantile(0.95, [{ le: Number.POSITIVE_INFINITY, count: 0 }])).toBeUndefined();
    expect(histogramQuantile(0.95, [])).toBeUndefined();
  });
});
