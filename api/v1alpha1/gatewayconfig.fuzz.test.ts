// Property tests of the v1alpha1 schemas: any input is a parse result or issues with messages, never a
// throw; a valid GatewayConfig survives serialisation (JSON, as the ConfigMap holds it, and YAML) unchanged;
// a valid ModelRoute always compiles to a CompiledRoute. Configs are compiled from
// generated routes (fuzz/kube-arbitraries.ts) and mutated one field at a time.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { anyJson, jsonKey, reparse } from '../../fuzz/arbitraries.js';
import { fuzzParams, FUZZ_TIMEOUT_MS } from '../../fuzz/harness.js';
import { gatewayWithRoutes } from '../../fuzz/kube-arbitraries.js';
import {
  Canary,
  CompiledRoute,
  compileGatewaySettings,
  compileRoute,
  finishGatewayConfig,
  GatewayConfig,
  ModelGateway,
  ModelRoute,
} from './index.js';

const SCHEMAS: [string, z.ZodType][] = [
  ['GatewayConfig', GatewayConfig],
  ['CompiledRoute', CompiledRoute],
  ['ModelRoute', ModelRoute],
  ['ModelGateway', ModelGateway],
  ['Canary', Canary],
];

/** A result, or issues that each say what is wrong (and print). */
function checkVerdict(schema: z.ZodType, value: unknown): unknown {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  assert.ok(r.error.issues.length > 0);
  for (const i of r.error.issues) assert.equal(typeof i.message, 'string');
  assert.equal(typeof z.prettifyError(r.error), 'string');
  return undefined;
}

/** The config the operator compiles from these resources: routes that compile, one per model, by model. */
function configOf(g: { gateway: Record<string, unknown>; routes: Record<string, unknown>[] }): GatewayConfig {
  const routes: CompiledRoute[] = [];
  for (const raw of g.routes) {
    const compiled = compileRoute(ModelRoute.parse(raw));
    if (CompiledRoute.safeParse(compiled).success && !routes.some((r) => r.model === compiled.model))
      routes.push(compiled);
  }
  routes.sort((a, b) => (a.model < b.model ? -1 : a.model > b.model ? 1 : 0));
  const gw = ModelGateway.parse(g.gateway);
  return finishGatewayConfig({
    ...compileGatewaySettings({ namespace: 'llm', name: 'gw' }, gw.spec),
    routes,
  });
}

/** A parsed config survives JSON (as the ConfigMap holds it) and YAML, and parsing again, unchanged. */
function checkRoundTrip(config: GatewayConfig): void {
  const viaJson = GatewayConfig.parse(JSON.parse(JSON.stringify(config)));
  assert.equal(JSON.stringify(viaJson), JSON.stringify(config), 'through JSON');
  const viaYaml = GatewayConfig.parse(parseYaml(stringifyYaml(config)));
  assert.equal(JSON.stringify(viaYaml), JSON.stringify(config), 'through YAML');
  assert.equal(JSON.stringify(GatewayConfig.parse(config)), JSON.stringify(config), 'parsed twice');
}

/** The value with `leaf` put at the place `steps` lead to (a key of an object, an item of an array). */
function mutate(value: unknown, steps: number[], key: string, leaf: unknown): unknown {
  const copy = reparse(value);
  let at: unknown = copy;
  for (const step of steps) {
    if (typeof at !== 'object' || at === null) break;
    const keys = Object.keys(at);
    if (keys.length === 0) break;
    const k = keys[step % keys.length] as string;
    const child = (at as Record<string, unknown>)[k];
    if (typeof child !== 'object' || child === null) {
      (at as Record<string, unknown>)[k] = leaf;
      return copy;
    }
    at = child;
  }
  if (Array.isArray(at)) at.push(leaf);
  else if (typeof at === 'object' && at !== null)
    Object.defineProperty(at, key, { value: leaf, enumerable: true, writable: true, configurable: true });
  return copy;
}

const configs = gatewayWithRoutes(4).map(configOf);

describe('v1alpha1 schemas (properties)', () => {
  test(
    'any JSON is a parse result or issues with messages, for every schema',
    () => {
      fc.assert(
        fc.property(anyJson, (value) => {
          for (const [, schema] of SCHEMAS) checkVerdict(schema, value);
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'resources with one field changed: a parse result or issues; a valid ModelRoute compiles',
    () => {
      fc.assert(
        fc.property(
          gatewayWithRoutes(2),
          fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
          jsonKey,
          anyJson,
          (g, steps, key, leaf) => {
            for (const raw of [...g.routes, ...g.canaries, g.gateway]) {
              const kind = raw.kind as string;
              const schema = SCHEMAS.find(([name]) => name === kind)?.[1] as z.ZodType;
              const parsed = checkVerdict(schema, mutate(raw, steps, key, leaf));
              if (parsed !== undefined && kind === 'ModelRoute')
                checkVerdict(CompiledRoute, compileRoute(parsed as ModelRoute));
            }
          },
        ),
        fuzzParams(100),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'a compiled config is valid and survives JSON and YAML unchanged',
    () => {
      fc.assert(
        fc.property(configs, (config) => {
          const parsed = checkVerdict(GatewayConfig, config);
          assert.ok(parsed !== undefined, 'a compiled config fails the schema');
          checkRoundTrip(parsed as GatewayConfig);
        }),
        fuzzParams(40),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'a config with one field changed: valid and round-tripping, or issues',
    () => {
      fc.assert(
        fc.property(
          configs,
          fc.array(fc.nat(), { minLength: 1, maxLength: 6 }),
          jsonKey,
          anyJson,
          (c, steps, key, leaf) => {
            const parsed = checkVerdict(GatewayConfig, mutate(c, steps, key, leaf));
            if (parsed !== undefined) checkRoundTrip(parsed as GatewayConfig);
          },
        ),
        fuzzParams(80),
      );
    },
    FUZZ_TIMEOUT_MS,
  );
});
