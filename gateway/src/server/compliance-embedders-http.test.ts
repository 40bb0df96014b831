// The embeddings servers of a route with a PII policy, over real HTTP with the openai client: the semantic
// cache's and the quality-cost router's embeddings server read the prompt before the screening, so a hosted
// one (here a simulator on 127.0.0.1: hosted by the backend class rules) receives it redacted; a route
// without a policy sends it as written.
import OpenAI from 'openai';
import type { CompiledRoute } from '../../../api/v1alpha1/index.js';
import { embed } from '../../../simulator/answers.js';
import type { Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, gatewayConfig, qualityCostRoute } from '../../../testkit/gateway-config.js';
import { silent, TestServers } from '../../../testkit/http-servers.js';
import { complianceFixture } from '../../../testkit/policy-fixtures.js';
import { EMBEDDING_ROUTER_KIND } from '../routing/router-embeddings.js';
import { startGateway } from './gateway.js';

const EMAIL = 'jane.doe@example.com';
const CARD = '4111 1111 1111 1111';
const PROMPT = `Refund card ${CARD} and tell ${EMAIL} when it is done.`;
const REDACTED = 'Refund card [CARD_1] and tell [EMAIL_1] when it is done.';
const DIMS = 64;

const servers = new TestServers();
let embeddings: Simulator;
let client: OpenAI;

/** What the embeddings server was last asked to embed. */
const embedded = (): unknown => (embeddings.stats().last?.body as { input?: unknown } | undefined)?.input;
const calls = (): number => embeddings.stats().byPath['/v1/embeddings'] ?? 0;

beforeAll(async () => {
  embeddings = await servers.sim();
  const upstream = await servers.sim({ echo: true });
  const url = `${upstream.url}/v1`;
  const server = { url: `${embeddings.url}/v1`, model: 'lex', dimensions: DIMS, timeoutMs: 1000 };
  const semantic = (model: string, storePromptsWithPII: boolean, compliance = true): CompiledRoute =>
    compiledRoute(model, [{ name: 'primary', url }], {
      cache: {
        mode: 'semantic',
        semantic: { threshold: 0.9, guard: true, maxEntries: 100, embeddings: server },
        ttlMs: 60_000,
        scope: 'route',
        cacheNonDeterministic: false,
      },
      ...(compliance ? { compliance: { ...complianceFixture(), retention: { storePromptsWithPII } } } : {}),
    });
  const routed = (model: string, compliance: boolean): CompiledRoute =>
    qualityCostRoute(
      { strong: url, weak: url },
      {
        targetQuality: 0.95,
        embeddings: { ...server, routerModel: { configMapRef: { name: 'router', key: 'model.json' } } },
      },
      { model, ...(compliance ? { compliance: complianceFixture() } : {}) },
    );
  const router = {
    kind: EMBEDDING_ROUTER_KIND,
    version: 'emb-test',
    embeddingModel: 'lex',
    dimensions: DIMS,
    bias: 0,
    weights: embed('refund', DIMS),
    calibration: [{ quality: 0.95, threshold: 0.5 }],
  };
  const routes = [
    semantic('cached', true),
    semantic('uncached', false),
    semantic('cached-plain', true, false),
    routed('routed', true),
    routed('routed-plain', false),
  ];
  const gateway = servers.adopt(
    await startGateway({
      source: { config: gatewayConfig(routes) },
      logger: silent,
      routerModelWatch: (_ns, _name, onData) => {
        onData({ 'model.json': JSON.stringify(router) });
        return () => undefined;
      },
    }),
  );
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(() => servers.close());

const ask = async (model: string) => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: PROMPT }],
    temperature: 0,
  });
  return r.choices[0]?.message.content;
};

describe('embeddings servers of a route with a PII policy', () => {
  test("the semantic cache's hosted embeddings server receives the redacted prompt", async () => {
    expect(await ask('cached')).toBe(PROMPT); // the client's answer is restored
    expect(embedded()).toEqual([REDACTED]);
  });

  test("the quality-cost router's hosted embeddings server receives the redacted prompt", async () => {
    await ask('routed');
    expect(embedded()).toEqual([`${REDACTED}\n`]); // the router reads each message's text on a line
  });

  test('a request with personal data kept out of the cache is not embedded at all', async () => {
    const before = calls();
    await ask('uncached');
    expect(calls()).toBe(before);
  });

  test.each(['cached-plain', 'routed-plain'])(
    'a route without a policy (%s) sends the prompt as written',
    async (model) => {
      await ask(model);
      expect(String((embedded() as string[])[0]).trimEnd()).toBe(PROMPT);
    },
  );
});
