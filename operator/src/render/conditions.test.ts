import { buildConditions } from './conditions.js';

describe('buildConditions', () => {
  test('keeps lastTransitionTime while a status holds and moves it when the status flips', () => {
    const first = buildConditions(
      { ready: { status: 'True', reason: 'Succeeded', message: 'ok' } },
      undefined,
      1,
      't1',
    );
    const same = buildConditions(
      { ready: { status: 'True', reason: 'Succeeded', message: 'still ok' } },
      first,
      2,
      't2',
    );
    expect(same[0]).toMatchObject({ lastTransitionTime: 't1', observedGeneration: 2 });
    const flipped = buildConditions(
      {
        ready: { status: 'False', reason: 'SecretNotFound', message: 'x' },
        stalled: { reason: 'SecretNotFound', message: 'x' },
      },
      same,
      2,
      't3',
    );
    expect(flipped.map((c) => [c.type, c.status, c.lastTransitionTime])).toEqual([
      ['Ready', 'False', 't3'],
      ['Stalled', 'True', 't3'],
    ]);
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
        't',
      ),
    ).toThrow(/both/);
    expect(() =>
      buildConditions(
        { ready: { status: 'True', reason: 'X', message: '' }, reconciling: { reason: 'X', message: '' } },
        undefined,
        1,
        't',
      ),
    ).toThrow(/Ready/);
  });
});
