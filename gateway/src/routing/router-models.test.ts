// Router models from ConfigMaps, with the watch driven by the test: a valid model replaces the bundled one at
// once, one that is not a model is refused and the last good kept, a deletion keeps it too, and a route
// that stops naming the ConfigMap stops its watch.
import type { CompiledRoute, GatewayConfig } from '../../../api/v1alpha1/index.js';
import { gatewayConfig, qualityCostRoute } from '../../../testkit/gateway-config.js';
import type { Logger } from '../log.js';
import { QUALITY_COST_V1 } from './models/quality-cost-v1.js';
import { RouterModels, type ConfigMapWatch } from './router-models.js';

const modelText = (version: string) =>
  JSON.stringify({ ...(JSON.parse(QUALITY_COST_V1) as object), version });

function routeNaming(configMap: string | undefined): CompiledRoute {
  const model =
    configMap !== undefined ? { model: { configMapRef: { name: configMap, key: 'model.json' } } } : {};
  return qualityCostRoute(
    { strong: 'http://big/v1', weak: 'http://small/v1' },
    { targetQuality: 0.95, ...model },
  );
}

function harness(withWatch = true) {
  const watched = new Map<string, (data: Record<string, string> | undefined) => void>();
  const stopped: string[] = [];
  const watch: ConfigMapWatch = (ns, name, onData) => {
    watched.set(`${ns}/${name}`, onData);
    return () => stopped.push(`${ns}/${name}`);
  };
  const results: string[] = [];
  let changes = 0;
  const lines: string[] = [];
  const log: Logger = {
    log: (_level, msg, fields) => lines.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    setLevel: () => undefined,
    isDebug: () => false,
  };
  const models = new RouterModels({
    watch: withWatch ? watch : undefined,
    log,
    changed: () => changes++,
    loaded: (r) => results.push(r),
  });
  return { models, watched, stopped, results, changes: () => changes, lines };
}

const config = (r: CompiledRoute): GatewayConfig => gatewayConfig([r]);

test('a valid model in the ConfigMap replaces the bundled one; later changes swap it', () => {
  const h = harness();
  const route = routeNaming('my-router');
  h.models.apply(config(route));
  expect([...h.watched.keys()]).toEqual(['default/my-router']);
  expect(h.models.modelFor(route).version).toBe('v1'); // the bundled one until the model loads
  h.watched.get('default/my-router')?.({ 'model.json': modelText('team-a-7') });
  expect(h.models.modelFor(route).version).toBe('team-a-7');
  h.watched.get('default/my-router')?.({ 'model.json': modelText('team-a-8') });
  expect(h.models.modelFor(route).version).toBe('team-a-8');
  expect(h.results).toEqual(['applied', 'applied']);
  expect(h.changes()).toBe(2);
  // The same text again changes nothing.
  h.watched.get('default/my-router')?.({ 'model.json': modelText('team-a-8') });
  expect(h.changes()).toBe(2);
});

test('a change that is not a model is refused and the last good model kept; so is a deletion', () => {
  const h = harness();
  const route = routeNaming('my-router');
  h.models.apply(config(route));
  const push = h.watched.get('default/my-router');
  push?.({ 'model.json': modelText('good-1') });
  push?.({ 'model.json': '{not json' });
  push?.({ 'model.json': JSON.stringify({ kind: 'beastmode.dev/quality-cost-router', version: 'x' }) });
  push?.({ 'other.json': modelText('good-2') });
  push?.(undefined);
  expect(h.models.modelFor(route).version).toBe('good-1');
  expect(h.results).toEqual(['applied', 'refused', 'refused', 'refused']);
  const text = h.lines.join('');
  expect(text).toContain('key model.json is not JSON');
  expect(text).toContain('not a router model');
  expect(text).toContain('the ConfigMap has no key model.json');
  expect(text).toContain('Router model ConfigMap deleted, keeping the last good model');
});

test('a route that stops naming the ConfigMap stops its watch and goes back to the bundled model', () => {
  const h = harness();
  const named = routeNaming('my-router');
  h.models.apply(config(named));
  h.watched.get('default/my-router')?.({ 'model.json': modelText('mine') });
  const plain = routeNaming(undefined);
  h.models.apply(config(plain));
  expect(h.stopped).toEqual(['default/my-router']);
  expect(h.models.modelFor(plain).version).toBe('v1');
  expect(h.models.modelFor(named).version).toBe('v1');
});

test('a gateway that reads no ConfigMaps says so once and decides with the bundled model', () => {
  const h = harness(false);
  const route = routeNaming('my-router');
  h.models.apply(config(route));
  h.models.apply(config(route));
  expect(h.models.modelFor(route).version).toBe('v1');
  expect(h.lines.filter((l) => l.includes('reads none'))).toHaveLength(1);
});
