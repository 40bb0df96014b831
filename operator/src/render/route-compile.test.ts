import type { Canary, ModelRoute } from '../../../api/v1alpha1/index.js';
import { newCanaryFixture, newRouteFixture } from '../../../testkit/canary.js';
import { CompiledRouteMemo, compileRouteChecked } from './route-compile.js';

const versioned = (route: ModelRoute, resourceVersion: string): ModelRoute => ({
  ...route,
  metadata: { ...route.metadata, resourceVersion },
});
const canaryAt = (resourceVersion: string): Canary => {
  const { canary } = newCanaryFixture();
  return { ...canary, metadata: { ...canary.metadata, resourceVersion } };
};

describe('compileRouteChecked', () => {
  test('reuses a compiled route while the route and canary versions hold, and recompiles when either moves', () => {
    const memo = new CompiledRouteMemo();
    const route = versioned(newRouteFixture(), '7');
    const first = compileRouteChecked(route, canaryAt('1'), undefined, memo);
    expect('compiled' in first).toBe(true);
    expect(compileRouteChecked(route, canaryAt('1'), undefined, memo)).toBe(first);
    expect(compileRouteChecked(route, canaryAt('2'), undefined, memo)).not.toBe(first);
    const moved = compileRouteChecked(versioned(route, '8'), canaryAt('2'), undefined, memo);
    expect(compileRouteChecked(versioned(route, '8'), canaryAt('2'), undefined, memo)).toBe(moved);
    expect(memo.size).toBe(1);
  });

  test('never trusts the memo for a route without a resourceVersion', () => {
    const memo = new CompiledRouteMemo();
    const route = newRouteFixture();
    const first = compileRouteChecked(route, undefined, undefined, memo);
    expect(compileRouteChecked(route, undefined, undefined, memo)).not.toBe(first);
  });

  test('keeps memos apart and forgets a route that went away', () => {
    const route = versioned(newRouteFixture(), '7');
    const a = new CompiledRouteMemo();
    const b = new CompiledRouteMemo();
    const fromA = compileRouteChecked(route, undefined, undefined, a);
    expect(compileRouteChecked(route, undefined, undefined, b)).not.toBe(fromA);
    a.forget('llm/chat');
    expect(a.size).toBe(0);
    expect(compileRouteChecked(route, undefined, undefined, a)).not.toBe(fromA);
  });

  test('reports why a route does not compile instead of throwing', () => {
    const route = newRouteFixture();
    const broken: ModelRoute = {
      ...route,
      spec: { ...route.spec, backends: [{ ...route.spec.backends[0]!, url: 'not a url' }] },
    };
    const result = compileRouteChecked(broken, undefined, undefined, undefined);
    expect(result).toEqual({ error: expect.any(String) });
  });
});
