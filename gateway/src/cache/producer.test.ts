import type { CompiledRoute } from '../../../api/v1alpha1/gatewayconfig.js';
import { backendFixture, configFixture, routeFixture } from '../../../testkit/policy-fixtures.js';
import { liveProducers, producerOf, retiredProducers } from './producer.js';

const stable = backendFixture({ name: 'main', url: 'http://stable:8000/v1', model: 'm1' });
const candidate = backendFixture({
  name: 'main',
  variant: 'canary',
  url: 'http://candidate:8000/v1',
  model: 'm2',
});
const cache: CompiledRoute['cache'] = {
  mode: 'exact',
  ttlMs: 60_000,
  scope: 'route',
  cacheNonDeterministic: false,
};

function rollout(revision: string, over: Partial<CompiledRoute> = {}): CompiledRoute {
  return routeFixture({
    backends: [stable, candidate],
    canary: { backend: 'main', weight: 5, revision },
    cache,
    ...over,
  });
}

describe('cache producers', () => {
  it('names the stable and canary variants of a backend apart, and is the same on every call', () => {
    const r = rollout('rev-2');
    expect(producerOf(r, stable)).toMatch(/^[0-9a-f]{16}$/);
    expect(producerOf(r, stable)).not.toBe(producerOf(r, candidate));
    expect(producerOf(rollout('rev-2'), candidate)).toBe(producerOf(r, candidate));
  });

  it('keeps the stable producer across a rollout and its weights, and changes it with a promotion', () => {
    const before = routeFixture({ backends: [stable], cache });
    const during = rollout('rev-2', { canary: { backend: 'main', weight: 50, revision: 'rev-2' } });
    expect(producerOf(during, stable)).toBe(producerOf(before, stable));
    const promoted = { ...candidate, variant: 'stable' as const };
    const after = routeFixture({ backends: [promoted], cache });
    expect(producerOf(after, promoted)).not.toBe(producerOf(before, stable));
    expect(producerOf(after, promoted)).not.toBe(producerOf(during, candidate));
  });

  it('names a canary by its revision: a new candidate with the same URL and model is a new producer', () => {
    expect(producerOf(rollout('rev-2'), candidate)).not.toBe(producerOf(rollout('rev-3'), candidate));
  });

  it('changes with what decides the answers (provider, URL, model, route, backend), not with pricing or weight', () => {
    const route = routeFixture({ backends: [stable], cache });
    const base = producerOf(route, stable);
    for (const b of [
      { ...stable, url: 'http://other:8000/v1' },
      { ...stable, model: 'm9' },
      { ...stable, provider: 'anthropic' as const },
      { ...stable, name: 'other' },
    ])
      expect(producerOf(route, b)).not.toBe(base);
    expect(producerOf({ ...route, name: 'other-route' }, stable)).not.toBe(base);
    expect(
      producerOf(route, {
        ...stable,
        weight: 7,
        pricing: { inputPerMillionTokens: 9, outputPerMillionTokens: 9 },
      }),
    ).toBe(base);
  });

  it('with keepAcrossRevisions, names a stable backend by route and backend alone; a canary still by its revision', () => {
    const keep = { ...cache, keepAcrossRevisions: true as const };
    const before = routeFixture({ backends: [stable], cache: keep });
    const promoted = { ...candidate, variant: 'stable' as const };
    const after = routeFixture({ backends: [promoted], cache: keep });
    expect(producerOf(after, promoted)).toBe(producerOf(before, stable));
    const during = rollout('rev-2', { cache: keep });
    expect(producerOf(during, candidate)).not.toBe(producerOf(during, stable));
    expect(producerOf(rollout('rev-3', { cache: keep }), candidate)).not.toBe(producerOf(during, candidate));
  });

  it('lists a config’s live producers and those a new config retired (a rollback retires the canary)', () => {
    const during = configFixture({ routes: [rollout('rev-2')] });
    const rolledBack = configFixture({ routes: [routeFixture({ backends: [stable], cache })] });
    const live = liveProducers(during);
    expect(live.size).toBe(2);
    const retired = retiredProducers(live, liveProducers(rolledBack));
    expect(retired).toEqual([producerOf(rollout('rev-2'), candidate)]);
    expect(retiredProducers(liveProducers(rolledBack), live)).toEqual([]);
  });
});
