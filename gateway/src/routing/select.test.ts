import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import { compiledRoute, qualityCostRoute as qcRoute } from '../../../testkit/gateway-config.js';
import { isCanaryRequest } from './canary.js';
import { scoreDifficulty } from './difficulty.js';
import { BUNDLED_ROUTER_VERSION } from '../../../api/v1alpha1/index.js';
import { bundledRouterModel, loadRouterModel } from './router-model.js';
import { routerFeatures, featureSet } from './router-features.js';
import { selectBackends, type ObservedStats, type SelectionInput } from './select.js';

const none: ObservedStats = { latencyMs: () => undefined, tokens: () => undefined };
const facts = (identity: string, headers: Record<string, string> = {}) => ({ identity, headers });
const input = (
  route: CompiledRoute,
  identity: string,
  extra: Partial<SelectionInput> = {},
): SelectionInput => ({
  route,
  facts: facts(identity),
  prompt: '',
  stats: none,
  random: () => 0.5,
  ...extra,
});

const two = compiledRoute('chat', [
  { name: 'a', url: 'http://a/v1', weight: 3 },
  { name: 'b', url: 'http://b/v1', weight: 1 },
]);

/** A quality-cost route choosing between "strong" and "weak". */
const qualityCostRoute = (qualityCost: { threshold: number; targetQuality?: number }): CompiledRoute =>
  qcRoute({ strong: 'http://a/v1', weak: 'http://b/v1' }, qualityCost);

describe('weighted selection', () => {
  test('is sticky per user and follows the weights', () => {
    let a = 0;
    for (let i = 0; i < 4000; i++) {
      const first = selectBackends(input(two, `user-${i}`)).attempts[0]?.name;
      expect(selectBackends(input(two, `user-${i}`)).attempts[0]?.name).toBe(first);
      if (first === 'a') a++;
    }
    expect(a / 4000).toBeGreaterThan(0.7);
    expect(a / 4000).toBeLessThan(0.8);
  });

  test('plans the other backends as fallbacks after the chosen one', () => {
    const plan = selectBackends(input(two, 'x')).attempts.map((b) => b.name);
    expect(plan.sort()).toEqual(['a', 'b']);
  });

  test('skips backends whose breaker is open while others exist', () => {
    const plan = selectBackends(input(two, 'x', { unavailable: new Set(['a/stable']) }));
    expect(plan.attempts.map((b) => b.name)).toEqual(['b']);
    const all = selectBackends(input(two, 'x', { unavailable: new Set(['a/stable', 'b/stable']) }));
    expect(all.attempts).toHaveLength(2);
  });
});

describe('canary assignment', () => {
  const withCanary = (weight: number, match?: NonNullable<CompiledRoute['canary']>['match']) =>
    compiledRoute(
      'chat',
      [
        { name: 'api', url: 'http://stable/v1' },
        { name: 'api', url: 'http://canary/v1', variant: 'canary' },
      ],
      { canary: { backend: 'api', weight, revision: 'r', ...(match ? { match } : {}) } },
    );

  test('is monotone: raising the weight never moves a canary user back to stable', () => {
    const users = Array.from({ length: 2000 }, (_, i) => `u${i}`);
    let previous = new Set<string>();
    for (const w of [1, 5, 25, 50, 100]) {
      const inCanary = new Set(users.filter((u) => isCanaryRequest(withCanary(w), facts(u))));
      for (const u of previous) expect(inCanary.has(u)).toBe(true);
      expect(inCanary.size / users.length).toBeCloseTo(w / 100, 1);
      previous = inCanary;
    }
  });

  test('a canary request falls back to the stable variant of the same backend first', () => {
    const plan = selectBackends(input(withCanary(100), 'anyone'));
    expect(plan.canary).toBe(true);
    expect(plan.attempts.map((b) => `${b.name}/${b.variant}`)).toEqual(['api/canary', 'api/stable']);
  });

  test('only a matching cohort sees the canary', () => {
    const route = withCanary(100, [{ headers: { 'x-cohort': 'beta' } }]);
    expect(isCanaryRequest(route, facts('u', { 'x-cohort': 'beta' }))).toBe(true);
    expect(isCanaryRequest(route, facts('u', {}))).toBe(false);
  });
});

describe('latency, cost and quality policies', () => {
  test('least-latency tries unobserved backends, then the fastest', () => {
    const route = { ...two, selection: { policy: 'least-latency' as const, stickiness: 'none' as const } };
    const lat: Record<string, number> = { a: 50 };
    const stats: ObservedStats = { latencyMs: (_r, b) => lat[b], tokens: () => undefined };
    expect(selectBackends(input(route, 'x', { stats })).attempts[0]?.name).toBe('b');
    lat.b = 80;
    expect(selectBackends(input(route, 'x', { stats })).attempts[0]?.name).toBe('a');
  });

  test('least-cost prices the observed token mix', () => {
    const route = compiledRoute(
      'chat',
      [
        {
          name: 'cheap-in',
          url: 'http://a/v1',
          pricing: { inputPerMillionTokens: 1, outputPerMillionTokens: 20 },
        },
        {
          name: 'cheap-out',
          url: 'http://b/v1',
          pricing: { inputPerMillionTokens: 5, outputPerMillionTokens: 2 },
        },
      ],
      { selection: { policy: 'least-cost', stickiness: 'none' } },
    );
    const promptHeavy: ObservedStats = {
      latencyMs: () => undefined,
      tokens: () => ({ input: 1000, output: 10 }),
    };
    const outputHeavy: ObservedStats = {
      latencyMs: () => undefined,
      tokens: () => ({ input: 10, output: 1000 }),
    };
    expect(selectBackends(input(route, 'x', { stats: promptHeavy })).attempts[0]?.name).toBe('cheap-in');
    expect(selectBackends(input(route, 'x', { stats: outputHeavy })).attempts[0]?.name).toBe('cheap-out');
  });

  test('quality-cost sends hard prompts to the strong backend and easy ones to the weak one', () => {
    const route = qualityCostRoute({ threshold: 0.4 });
    const hard =
      'Explain step by step, then prove that the integral of x^2 = x^3/3. First write a function in ```python``` that returns it; then compare.';
    expect(scoreDifficulty('hi')).toBeLessThan(0.05);
    expect(scoreDifficulty(hard)).toBeGreaterThan(0.6);
    expect(selectBackends(input(route, 'x', { prompt: hard })).attempts.map((b) => b.name)).toEqual([
      'strong',
      'weak',
    ]);
    expect(selectBackends(input(route, 'x', { prompt: 'hi' })).attempts[0]?.name).toBe('weak');
  });

  test('with a target quality the learned router decides, at the threshold its calibration gives', () => {
    // A one-feature model: prompts with lettered answer options are the ones the weak backend answers.
    const options = [...routerFeatures('A. x', 1023, featureSet(['cues']))].find(
      ([k]) => ![...routerFeatures('x', 1023, featureSet(['cues']))].some(([j]) => j === k),
    )?.[0] as number;
    const router = loadRouterModel({
      kind: 'beastmode.dev/quality-cost-router',
      version: 'test',
      families: ['cues'],
      buckets: 1024,
      bias: -2,
      weights: [[options, 6]],
      calibration: [
        { quality: 1, threshold: 0.9 },
        { quality: 0.95, threshold: 0.5 },
      ],
    });
    const route = (targetQuality: number) => qualityCostRoute({ threshold: 0.5, targetQuality });
    const mcq = 'Which is a prime?\nA. 4\nB. 6\nC. 7\nD. 9';
    const first = (q: number, prompt: string) =>
      selectBackends(input(route(q), 'x', { prompt, router })).attempts[0]?.name;
    // p(weak) = sigmoid(-2 + 6) ≈ 0.98 for the options prompt, sigmoid(-2) ≈ 0.12 otherwise.
    expect(first(0.95, mcq)).toBe('weak');
    expect(first(0.95, 'Write a sonnet about the sea')).toBe('strong');
    expect(selectBackends(input(route(0.95), 'x', { prompt: mcq, router })).reason).toMatch(
      /router test p\(weak\) 0\.98 vs 0\.50 → weak/,
    );
    // 100% quality asks for 0.9: still weak for 0.98.
    expect(first(1, mcq)).toBe('weak');
  });

  test('the bundled router model loads, is the version the API names, and scores a prompt', () => {
    const model = bundledRouterModel();
    expect(model.version).toBe(BUNDLED_ROUTER_VERSION);
    expect(model.calibration.length).toBeGreaterThan(10);
    const s = selectBackends(
      input(qualityCostRoute({ threshold: 0.5, targetQuality: 0.95 }), 'x', {
        prompt: 'What is the capital of France?\nA. Paris\nB. Rome',
        router: model,
      }),
    );
    expect(s.reason).toMatch(/^quality-cost: router v1 p\(weak\) \d\.\d\d vs \d\.\d\d → (weak|strong)$/);
  });
});
