import { buildConditions, healthOf } from './conditions.js';

const T1 = new Date('2025-01-01T00:00:00.250Z');
const T2 = new Date('2025-01-01T00:01:00Z');
const T3 = new Date('2025-01-01T00:02:00Z');

describe('buildConditions', () => {
  test('keeps lastTransitionTime while a status holds and moves it when the status flips', () => {
    const first = buildConditions(
      { ready: { status: 'True', reason: 'Succeeded', message: 'ok' } },
      undefined,
      1,
      T1,
    );
    expect(first[0]?.lastTransitionTime).toBe('2025-01-01T00:00:00Z');
    const same = buildConditions(
      { ready: { status: 'True', reason: 'Succeeded', message: 'still ok' } },
      first,
      2,
      T2,
    );
    expect(same[0]).toMatchObject({ lastTransitionTime: '2025-01-01T00:00:00Z', observedGeneration: 2 });
    const flipped = buildConditions(
      {
        ready: { status: 'False', reason: 'SecretNotFound', message: 'x' },
        stalled: { reason: 'SecretNotFound', message: 'x' },
      },
      same,
      2,
      T3,
    );
    expect(flipped.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ['Ready', 'False', '2025-01-01T00:02:00Z'],
      ['Stalled', 'True', '2025-01-01T00:02:00Z'],
    ]);
  });

  test('renders byte-identical conditions for an unchanged state, whatever the time', () => {
    const health = healthOf('reconciling', 'Progressing', 'step 1/3');
    const first = buildConditions(health, undefined, 3, T1);
    expect(JSON.stringify(buildConditions(health, first, 3, T3))).toBe(JSON.stringify(first));
  });

  test('drops a Reconciling or Stalled that no longer holds, and conditions it does not name', () => {
    const stalled = buildConditions(healthOf('stalled', 'RolledBack', 'r'), undefined, 1, T1);
    const foreign = { ...stalled[0]!, type: 'SomethingElse' };
    const ready = buildConditions(healthOf('ready', 'Succeeded', 'ok'), [...stalled, foreign], 1, T2);
    expect(ready.map((c) => c.type)).toEqual(['Ready']);
  });

  test('leaves observedGeneration out when the object has no generation', () => {
    const [ready] = buildConditions(healthOf('waiting', 'RouteNotFound', 'm'), undefined, undefined, T1);
    expect(ready).not.toHaveProperty('observedGeneration');
    expect(ready).toMatchObject({ type: 'Ready', status: 'False', reason: 'RouteNotFound' });
  });

  test('refuses Reconciling and Stalled together, and Ready True beside either', () => {
    expect(() =>
      buildConditions(
        {
          ready: { status: 'False', reason: 'X', message: '' },
          reconciling: { reason: 'X', message: '' },
          stalled: { reason: 'X', message: '' },
        },
        undefined,
        1,
        T1,
      ),
    ).toThrow(/both/);
    expect(() =>
      buildConditions(
        { ready: { status: 'True', reason: 'X', message: '' }, reconciling: { reason: 'X', message: '' } },
        undefined,
        1,
        T1,
      ),
    ).toThrow(/Ready/);
  });
});

describe('healthOf', () => {
  test.each([
    ['ready', 'True', []],
    ['waiting', 'False', []],
    ['reconciling', 'False', ['Reconciling']],
    ['stalled', 'False', ['Stalled']],
  ] as const)('%s: Ready %s, then %j', (state, ready, beside) => {
    const conds = buildConditions(healthOf(state, 'Why', 'what'), undefined, 1, T1);
    expect(conds[0]).toMatchObject({ type: 'Ready', status: ready, reason: 'Why', message: 'what' });
    expect(conds.slice(1).map((c) => [c.type, c.status, c.reason])).toEqual(
      beside.map((t) => [t, 'True', 'Why']),
    );
  });
});
