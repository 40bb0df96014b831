// Property tests of the route compiler (translateGateway: a gateway's ModelRoutes and Canaries → its
// GatewayConfig and statuses) on generated valid resources: the config always validates and loads in the
// gateway, and the output is a function of the set of resources — the same however the informer lists them,
// however many times it is compiled, with or without the memo. The manifests of fuzz/corpus/route-compiler
// are replayed first, in every order of their routes.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { corpus, fuzzParams, FUZZ_TIMEOUT_MS } from '../../../fuzz/harness.js';
import { gatewayWithRoutes } from '../../../fuzz/kube-arbitraries.js';
import {
  GATEWAY_CONFIG_KEY,
  GatewayConfig,
  type Canary,
  type ModelGateway,
  type ModelRoute,
} from '../../../api/v1alpha1/index.js';
import { compileRuntime, validateGatewayConfig } from '../../../gateway/src/config/load.js';
import { CompiledRouteMemo } from './route-compile.js';
import { translateGateway, type GatewaySnapshot, type GatewayTranslation } from './translate.js';

const NOW = new Date('2025-01-01T00:00:00Z');

interface Resources {
  gateway: ModelGateway;
  routes: ModelRoute[];
  canaries: Canary[];
}

function snapshot(r: Resources): GatewaySnapshot {
  return {
    namespace: r.gateway.metadata.namespace ?? 'default',
    gatewayName: r.gateway.metadata.name,
    gateway: r.gateway,
    routes: r.routes,
    canaries: r.canaries,
    // Some Services are missing: their routes are refused, the others compiled.
    serviceExists: (_ns, name) => name.length % 4 !== 0,
    deployment: undefined,
    autoscaled: false,
  };
}

function translate(r: Resources, memo?: CompiledRouteMemo): GatewayTranslation {
  return translateGateway(snapshot(r), {
    now: NOW,
    defaultImage: 'beastmode:test',
    ...(memo ? { compiled: memo } : {}),
  });
}

/** Everything the operator writes, as bytes: the config, the owned objects, every status. */
function written(t: GatewayTranslation): string {
  const routes = [...t.routes].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, r]) => [name, r.status]);
  return JSON.stringify({ config: t.config, objects: t.objects, status: t.status, routes });
}

function checkConfig(t: GatewayTranslation): void {
  const parsed = GatewayConfig.safeParse(t.config);
  assert.ok(parsed.success, parsed.success ? '' : JSON.stringify(parsed.error.issues.slice(0, 3)));
  const data = (t.objects.configMap.data as Record<string, string>)[GATEWAY_CONFIG_KEY] ?? '';
  assert.deepStrictEqual(JSON.parse(data), t.config);
  // What the gateway does with the ConfigMap: validate it, then build the runtime form (URLs, adapters).
  compileRuntime(validateGatewayConfig(JSON.parse(data)));
  const accepted = [...t.routes.values()].filter((r) => r.verdict.accepted).length;
  assert.equal(t.config.routes.length, accepted);
}

function checkResources(r: Resources, orders: [ModelRoute[], Canary[]][]): void {
  const first = translate(r);
  checkConfig(first);
  const bytes = written(first);
  assert.equal(written(translate(r)), bytes, 'compiling twice');
  const memo = new CompiledRouteMemo();
  assert.equal(written(translate(r, memo)), bytes, 'with a memo');
  assert.equal(written(translate(r, memo)), bytes, 'from the memo');
  for (const [routes, canaries] of orders) {
    const other = translate({ gateway: r.gateway, routes, canaries });
    assert.equal(JSON.stringify(other.config), JSON.stringify(first.config), 'the config, in another order');
    assert.equal(written(other), bytes, 'in another order');
  }
}

/** Every rotation of a list and its reverse: the orders a corpus case is replayed in. */
function orders<T>(xs: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i++) {
    const rotated = [...xs.slice(i), ...xs.slice(0, i)];
    out.push(rotated, [...rotated].reverse());
  }
  return out.length > 0 ? out : [[]];
}

const permutation = <T>(xs: T[]): fc.Arbitrary<T[]> =>
  fc.shuffledSubarray(xs, { minLength: xs.length, maxLength: xs.length });

describe('route compiler (corpus)', () => {
  test.each(corpus('route-compiler').map((f) => [f.name, f] as const))('%s', (_name, f) => {
    const docs = parseAllDocuments(f.text).map((d) => d.toJS() as { kind: string });
    const gateway = docs.find((d) => d.kind === 'ModelGateway') as ModelGateway | undefined;
    if (gateway === undefined) throw new Error('a route-compiler case needs a ModelGateway');
    const routes = docs.filter((d) => d.kind === 'ModelRoute') as ModelRoute[];
    const canaries = docs.filter((d) => d.kind === 'Canary') as Canary[];
    const routeOrders = orders(routes);
    const canaryOrders = orders(canaries);
    checkResources(
      { gateway, routes, canaries },
      routeOrders.flatMap((rs) => canaryOrders.map((cs) => [rs, cs] as [ModelRoute[], Canary[]])),
    );
  });
});

describe('route compiler (found by the properties)', () => {
  const load = (name: string): Resources => {
    const docs = parseAllDocuments(corpus('route-compiler').find((f) => f.name === name)?.text ?? '').map(
      (d) => d.toJS() as { kind: string },
    );
    return {
      gateway: docs.find((d) => d.kind === 'ModelGateway') as ModelGateway,
      routes: docs.filter((d) => d.kind === 'ModelRoute') as ModelRoute[],
      canaries: docs.filter((d) => d.kind === 'Canary') as Canary[],
    };
  };

  test('of two canaries created in the same second, the first by name rolls the backend out', () => {
    // The canary was the first of a sort whose comparator never answered 0: on a timestamp tie the
    // informer's list order chose, so the config (and its revision) flipped between reconciles.
    const r = load('tied-canaries.yaml.in');
    for (const canaries of [r.canaries, [...r.canaries].reverse()])
      expect(translate({ ...r, canaries }).config.routes[0]?.canary).toMatchObject({
        weight: 25,
        revision: 'r2',
      });
  });

  test('a backend URL no parser reads refuses its route instead of breaking the gateway config', () => {
    // The route schema's pattern admits "http://[" and ports above 65535; the config compiled from it
    // validated, and the gateway then failed to load it (new URL throws), holding back every other route.
    const t = translate(load('malformed-url.yaml.in'));
    expect(t.config.routes.map((c) => c.name)).toEqual(['fine']);
    const broken = t.routes.get('broken')?.verdict;
    expect(broken?.accepted).toBe(false);
    expect(broken && !broken.accepted ? broken.message : '').toMatch(/url: url must be a valid URL/);
  });
});

describe('route compiler (properties)', () => {
  test(
    'valid routes compile to a valid config that loads, the same in any order, twice, memoised or not',
    () => {
      const cases = gatewayWithRoutes().chain((g) =>
        fc.tuple(
          fc.constant(g),
          fc.array(fc.tuple(permutation(g.routes), permutation(g.canaries)), { minLength: 1, maxLength: 3 }),
        ),
      );
      fc.assert(
        fc.property(cases, ([g, shuffles]) => {
          const r = g as unknown as Resources;
          checkResources(r, shuffles as unknown as [ModelRoute[], Canary[]][]);
        }),
        fuzzParams(60),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
