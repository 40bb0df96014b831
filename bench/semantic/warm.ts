// The semantic cache's warming, measured with real gateways (in this process), a real Redis and the
// simulator: a first replica is asked the origins of the paraphrase pairs (each a miss, stored and shared);
// then a new replica sharing the cache through Redis — which loads the entries before it reports ready —
// and a new replica caching in memory only (what a replica without sharing starts from) are each asked
// every paraphrase once, as their first minute of traffic. Reported: their semantic hit rates, how long the
// warm one took to become ready, and the hit rate the paraphrases get at the index level (the same entries,
// no gateway): what a replica that has been running all along would answer.
import { DEFAULT_SEMANTIC_THRESHOLD } from '../../api/v1alpha1/index.js';
import type { Pair } from '../../gateway/src/cache/semantic/eval.js';
import { startSimulator } from '../../simulator/simulator.js';
import { compiledRoute } from '../../testkit/gateway-config.js';
import { chat, eventually, startPolicyGateway, type PolicyGateway } from '../../testkit/policy-http.js';
import { startRedis } from '../../testkit/redis.js';

export interface WarmResult {
  entries: number;
  /** Share of the paraphrases answered by a semantic hit, per replica. */
  warm: number;
  cold: number;
  warmReadyMs: number;
}

async function ask(g: PolicyGateway, content: string): Promise<string> {
  const r = await fetch(`${g.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(chat(content, { temperature: 0, max_tokens: 8 })),
  });
  await r.arrayBuffer();
  return r.headers.get('x-beastmode-cache') ?? '';
}

async function semanticHits(g: PolicyGateway, texts: readonly string[]): Promise<number> {
  let hits = 0;
  for (const t of texts) if ((await ask(g, t)).startsWith('semantic-hit')) hits++;
  return hits / texts.length;
}

export async function measureWarming(pairs: readonly Pair[], threshold = DEFAULT_SEMANTIC_THRESHOLD) {
  const sim = await startSimulator();
  const redis = await startRedis();
  const started: PolicyGateway[] = [];
  const cache = {
    mode: 'semantic' as const,
    semantic: { threshold, guard: true, maxEntries: 10_000 },
    ttlMs: 3_600_000,
    scope: 'route' as const,
    cacheNonDeterministic: false,
  };
  const routes = [compiledRoute('chat', [{ name: 'primary', url: `${sim.url}/v1` }], { cache })];
  const replica = async (shared: boolean) => {
    const g = await startPolicyGateway({ routes, ...(shared ? { redisUrl: redis.url } : {}) });
    started.push(g);
    return g;
  };
  try {
    const origins = [...new Set(pairs.map((p) => p.origin))];
    const paraphrases = pairs.map((p) => p.similar);
    const first = await replica(true);
    for (const o of origins) await ask(first, o);
    const t0 = performance.now();
    const warm = await replica(true);
    await eventually(() => warm.gw.state.ready(), 30_000);
    const warmReadyMs = performance.now() - t0;
    const warmRate = await semanticHits(warm, paraphrases);
    const cold = await replica(false);
    const coldRate = await semanticHits(cold, paraphrases);
    return { entries: origins.length, warm: warmRate, cold: coldRate, warmReadyMs };
  } finally {
    for (const g of started) await g.close();
    await redis.stop();
    await sim.close();
  }
}
