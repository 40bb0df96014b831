// A quality-cost route that scores prompts on their embeddings, over real HTTP with the openai client: the
// embeddings come from a simulator's /v1/embeddings (a lexical embedding: texts sharing words lie close),
// the router trained on them from a (driven) ConfigMap. The router decides while the embeddings arrive in
// time; a late or failing embeddings server, a vector of the wrong length or no router yet all let the
// built-in model decide instead — never a failed request — and a server failing in a row is rested.
import OpenAI from 'openai';
import { HEADERS, type CompiledRoute } from '../../../api/v1alpha1/index.js';
import { gatewayConfig, qualityCostRoute } from '../../../testkit/gateway-config.js';
import { silent, TestServers } from '../../../testkit/http-servers.js';
import { embed } from '../../../simulator/answers.js';
import { EMBEDDING_ROUTER_KIND, type EmbeddingRouterFile } from '../routing/router-embeddings.js';
import type { ConfigMapWatch } from '../routing/router-models.js';
import { startGateway, type Gateway } from './gateway.js';

const servers = new TestServers();
afterEach(() => servers.close());

const DIMS = 64;
const EASY = 'Please add two small numbers for me';

/** A router that calls a prompt easy (weak) when its embedding is close to EASY's: p > 0.5 iff cos > 0.5. */
function routerFile(dimensions = DIMS): EmbeddingRouterFile {
  return {
    kind: EMBEDDING_ROUTER_KIND,
    version: 'emb-test',
    embeddingModel: 'lex',
    dimensions,
    bias: -15,
    weights: embed(EASY, dimensions).map((w) => 30 * w),
    calibration: [{ quality: 0.95, threshold: 0.5 }],
  };
}

/** A watch that serves `files` as the ConfigMap `router` of the route's namespace. */
const serving =
  (files: Record<string, unknown>): ConfigMapWatch =>
  (_ns, name, onData) => {
    if (name === 'router')
      onData(Object.fromEntries(Object.entries(files).map(([k, v]) => [k, JSON.stringify(v)])));
    return () => undefined;
  };

async function setUp(o: { timeoutMs?: number; dimensions?: number; files?: Record<string, unknown> } = {}) {
  const strong = await servers.sim();
  const weak = await servers.sim();
  const embeddings = await servers.sim();
  const route: CompiledRoute = qualityCostRoute(
    { strong: `${strong.url}/v1`, weak: `${weak.url}/v1` },
    {
      targetQuality: 0.95,
      embeddings: {
        url: `${embeddings.url}/v1`,
        model: 'lex',
        timeoutMs: o.timeoutMs ?? 1000,
        dimensions: o.dimensions ?? DIMS,
        routerModel: { configMapRef: { name: 'router', key: 'model.json' } },
      },
    },
  );
  const gateway = servers.adopt(
    await startGateway({
      source: { config: gatewayConfig([route]) },
      logger: silent,
      routerModelWatch: serving(o.files ?? { 'model.json': routerFile() }),
    }),
  );
  const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'test', maxRetries: 0 });
  const ask = async (content: string) => {
    const { response } = await client.chat.completions
      .create({ model: 'chat', messages: [{ role: 'user', content }] })
      .withResponse();
    return {
      backend: response.headers.get(HEADERS.backend),
      reason: response.headers.get(HEADERS.routeReason) ?? '',
    };
  };
  return { strong, weak, embeddings, gateway, ask };
}

async function metric(g: Gateway, name: string): Promise<string[]> {
  const text = await (await fetch(`${g.url}/metrics`)).text();
  return text.split('\n').filter((l) => l.startsWith(name));
}

test('the router on embeddings decides: a prompt near the easy one goes weak, an unrelated one strong', async () => {
  const { embeddings, gateway, ask } = await setUp();
  const easy = await ask('please add two small numbers for me');
  const hard = await ask('Prove that every bounded monotone sequence of reals converges.');
  expect(easy.backend).toBe('weak');
  expect(easy.reason).toMatch(/^quality-cost: embeddings router emb-test p\(weak\) 1\.00 vs 0\.50 -> weak$/);
  expect(hard.backend).toBe('strong');
  expect(hard.reason).toMatch(
    /^quality-cost: embeddings router emb-test p\(weak\) 0\.\d\d vs 0\.50 -> strong$/,
  );
  expect(embeddings.stats().byPath['/v1/embeddings']).toBe(2);
  expect(await metric(gateway, 'beastmode_router_embeddings_total')).toEqual([
    'beastmode_router_embeddings_total{namespace="default",route="chat",result="ok"} 2',
  ]);
  expect(await metric(gateway, 'beastmode_router_decisions_total')).toEqual([
    'beastmode_router_decisions_total{namespace="default",route="chat",backend="weak",via="embeddings"} 1',
    'beastmode_router_decisions_total{namespace="default",route="chat",backend="strong",via="embeddings"} 1',
  ]);
  expect(await metric(gateway, 'beastmode_router_model_info')).toContain(
    'beastmode_router_model_info{namespace="default",route="chat",kind="embeddings",version="emb-test"} 1',
  );
});

test('a late embeddings server: the built-in model decides, and after three in a row the server is rested', async () => {
  const { embeddings, gateway, ask } = await setUp({ timeoutMs: 30 });
  embeddings.setFaults({ latencyMs: 400 });
  const answers = [];
  for (let i = 0; i < 4; i++) answers.push(await ask(`${EASY} ${i}`));
  // Every request is answered, by the decision of the bundled model of built-in features.
  for (const a of answers.slice(0, 3))
    expect(a.reason).toMatch(/^quality-cost: embeddings timeout, router v1 p\(weak\)/);
  expect(answers[3]?.reason).toMatch(/^quality-cost: embeddings server rested, router v1 p\(weak\)/);
  expect(answers.every((a) => a.backend === 'strong' || a.backend === 'weak')).toBe(true);
  // The rested server was not asked the fourth time.
  expect(embeddings.stats().byPath['/v1/embeddings']).toBe(3);
  expect(await metric(gateway, 'beastmode_router_embeddings_total')).toEqual([
    'beastmode_router_embeddings_total{namespace="default",route="chat",result="timeout"} 3',
    'beastmode_router_embeddings_total{namespace="default",route="chat",result="skipped"} 1',
  ]);
});

test('vectors of the wrong length are an error, not a score; a route with no router yet asks no embedding', async () => {
  const asked32 = await setUp({ dimensions: 32 });
  const a = await asked32.ask(EASY);
  expect(a.reason).toMatch(/^quality-cost: embeddings error, router v1 /);
  expect(await metric(asked32.gateway, 'beastmode_router_embeddings_total')).toEqual([
    'beastmode_router_embeddings_total{namespace="default",route="chat",result="error"} 1',
  ]);
  // A file that is not a router on embeddings is refused (counted); the built-in model decides meanwhile.
  const refused = await setUp({ files: { 'model.json': { ...routerFile(), weights: [1, 2] } } });
  const b = await refused.ask(EASY);
  expect(b.reason).toMatch(/^quality-cost: embedding router not loaded, router v1 /);
  expect(refused.embeddings.stats().byPath['/v1/embeddings']).toBeUndefined();
  expect(await metric(refused.gateway, 'beastmode_router_model_loads_total')).toEqual([
    'beastmode_router_model_loads_total{result="refused"} 1',
  ]);
});
