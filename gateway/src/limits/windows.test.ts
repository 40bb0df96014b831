import { budgetWindow } from './windows.js';

const at = (iso: string): number => Date.parse(iso);

describe('budgetWindow', () => {
  it('names the UTC day and month a time falls in, and where each ends', () => {
    expect(budgetWindow('day', at('2026-03-09T23:59:59.999Z'))).toEqual({
      id: 'd2026-03-09',
      startMs: at('2026-03-09T00:00:00Z'),
      endMs: at('2026-03-10T00:00:00Z'),
    });
    expect(budgetWindow('month', at('2026-12-31T12:00:00Z'))).toEqual({
      id: 'm2026-12',
      startMs: at('2026-12-01T00:00:00Z'),
      endMs: at('2027-01-01T00:00:00Z'),
    });
  });

  it('moves to the next window at its first millisecond, and back when a clock goes back', () => {
    const before = budgetWindow('day', at('2026-03-09T23:59:59.999Z'));
    expect(budgetWindow('day', at('2026-03-10T00:00:00Z')).id).toBe('d2026-03-10');
    expect(budgetWindow('day', at('2026-03-09T08:00:00Z'))).toEqual(before);
    expect(budgetWindow('month', at('2026-02-28T23:59:59Z')).id).toBe('m2026-02');
    expect(budgetWindow('month', at('2026-03-01T00:00:00Z')).id).toBe('m2026-03');
    expect(budgetWindow('month', at('2026-02-01T00:00:00Z')).id).toBe('m2026-02');
  });

  it('gives the same window object to every request inside it', () => {
    const a = budgetWindow('day', at('2026-03-09T01:00:00Z'));
    expect(budgetWindow('day', at('2026-03-09T22:00:00Z'))).toBe(a);
    // The two kinds are held apart.
    expect(budgetWindow('month', at('2026-03-09T22:00:00Z')).id).toBe('m2026-03');
    expect(budgetWindow('day', at('2026-03-09T23:00:00Z'))).toBe(a);
  });
});
