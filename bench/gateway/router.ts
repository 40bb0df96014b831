// The router benchmark (e): what the quality/cost router's decision costs on the request path. One gateway
// serves four routes over the same two simulator backends: `plain` (weighted), `router` (quality-cost at
// target quality 0.95: the bundled model decides), `learning` (the same with the learning router: the
// domain classifier, the model and the learner's plan) and `embeddings` (a router on prompt embeddings from
// the simulator's /v1/embeddings: the embedding call is in its end-to-end latency, not in the decision's;
// its router file, a fixed direction, is there for the timing, not for its choices). Each route gets the same stream, the labelled
// prompts of gateway/src/routing/domains/test.jsonl: at concurrency 1 in rounds interleaved across the
// routes (their order turning each round, so a slow moment of the machine falls on all of them), then one
// fixed-rate step per route (the Node generator, which sends the stream's bodies in turn). End-to-end
// latency is measured here; the decision's own time is the change of the gateway's histogram
// beastmode_router_decision_seconds over each part (the warm-up excluded).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Pool } from 'undici';
import { RouterLearning, type CompiledRoute } from '../../api/v1alpha1/index.js';
import { parseDomainRows } from '../../gateway/src/routing/domain-train.js';
import {
  EMBEDDING_ROUTER_KIND,
  type EmbeddingRouterFile,
} from '../../gateway/src/routing/router-embeddings.js';
import { embed } from '../../simulator/answers.js';
import { compiledRoute, qualityCostRoute } from '../../testkit/gateway-config.js';
import { fixedRate, percentile, type RateResult, type Target } from '../lib/loadgen.js';
import { stop, waitFor, withMachineLoad, type LoadSpan } from '../lib/processes.js';
import { diffSamples, parseDecisionSamples, type Sample } from './decision-metrics.js';
import { startRouterGateway, UPSTREAM, waitForTarget, type ServerContext } from './servers.js';

export const ROUTES = ['plain', 'router', 'learning', 'embeddings'] as const;
export type RouteName = (typeof ROUTES)[number];
export const ROUTER_TARGET_QUALITY = 0.95;
/** The goal: the decision's p99 below 0.1 ms. */
export const DECISION_GOAL_SECONDS = 1e-4;
const PROMPTS = path.resolve(import.meta.dirname, '../../gateway/src/routing/domains/test.jsonl');
const MAX_TOKENS = 16;

const EMBEDDING_DIMS = 256;

/** A router file for the simulator's lexical embedding, in <dir>/default/router-emb/model.json. */
function writeEmbeddingRouter(tmp: string): string {
  const dir = path.join(tmp, 'router-models');
  mkdirSync(path.join(dir, 'default', 'router-emb'), { recursive: true });
  const file: EmbeddingRouterFile = {
    kind: EMBEDDING_ROUTER_KIND,
    version: 'bench',
    embeddingModel: 'lex',
    dimensions: EMBEDDING_DIMS,
    bias: -5,
    weights: embed('a simple question about everyday things', EMBEDDING_DIMS).map((w) => 10 * w),
    calibration: [{ quality: 0.95, threshold: 0.5 }],
  };
  writeFileSync(path.join(dir, 'default', 'router-emb', 'model.json'), JSON.stringify(file));
  return dir;
}

/** The four routes, each named as its model; the quality-cost ones choose between `strong` and `weak`. */
function routerRoutes(): CompiledRoute[] {
  const urls = { strong: `${UPSTREAM}/v1`, weak: `${UPSTREAM}/v1` };
  const targetQuality = ROUTER_TARGET_QUALITY;
  return [
    compiledRoute('plain', [
      { name: 'strong', url: urls.strong },
      { name: 'weak', url: urls.weak },
    ]),
    qualityCostRoute(urls, { targetQuality }, { model: 'router' }),
    qualityCostRoute(urls, { targetQuality, learning: RouterLearning.parse({}) }, { model: 'learning' }),
    qualityCostRoute(
      urls,
      {
        targetQuality,
        embeddings: {
          ...{ url: `${UPSTREAM}/v1`, model: 'lex', dimensions: EMBEDDING_DIMS, timeoutMs: 50 },
          routerModel: { configMapRef: { name: 'router-emb', key: 'model.json' } },
        },
      },
      { model: 'embeddings' },
    ),
  ];
}

const chatBody = (model: string, prompt: string) =>
  JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: MAX_TOKENS });

/** The prompt stream as each route's request bodies, in the same order. */
function streams(): Map<RouteName, string[]> {
  const prompts = parseDomainRows(readFileSync(PROMPTS, 'utf8')).map((r) => r.prompt);
  return new Map(ROUTES.map((r) => [r, prompts.map((p) => chatBody(r, p))]));
}

/** Sends `bodies` one after another (concurrency 1); the latency of each in ms. */
async function sequential(pool: Pool, t: Target, bodies: readonly string[]): Promise<number[]> {
  const lat: number[] = [];
  for (const body of bodies) {
    const s = performance.now();
    const r = await pool.request({ path: t.path, method: 'POST', headers: t.headers, body });
    await r.body.text();
    if (r.statusCode !== 200) throw new Error(`${t.name}: status ${r.statusCode}`);
    lat.push(performance.now() - s);
  }
  return lat;
}

export interface RouteLatency {
  requests: number;
  p50: number;
  p99: number;
}

function summarise(lat: number[]): RouteLatency {
  const sorted = [...lat].sort((a, b) => a - b);
  return { requests: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/** `rounds` passes of every route's stream, the routes' order turning by one each round. */
async function concurrencyOne(
  pool: Pool,
  t: Target,
  bodies: Map<RouteName, string[]>,
  rounds: number,
): Promise<Map<RouteName, RouteLatency>> {
  const lat = new Map<RouteName, number[]>(ROUTES.map((r) => [r, []]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < ROUTES.length; i++) {
      const route = ROUTES[(round + i) % ROUTES.length]!;
      lat.get(route)!.push(...(await sequential(pool, t, bodies.get(route)!)));
    }
  }
  return new Map(ROUTES.map((r) => [r, summarise(lat.get(r)!)]));
}

/** A pool whose requests carry `bodies` in turn (fixedRate sends the target's one body otherwise). */
function cycling(pool: Pool, bodies: readonly string[]): Pool {
  let i = 0;
  const request = (o: Parameters<Pool['request']>[0]) =>
    pool.request({ ...o, body: bodies[i++ % bodies.length] });
  return { request } as unknown as Pool;
}

async function rateSteps(
  pool: Pool,
  t: Target,
  bodies: Map<RouteName, string[]>,
  step: { rate: number; seconds: number },
): Promise<Map<RouteName, RateResult>> {
  const out = new Map<RouteName, RateResult>();
  for (const route of ROUTES) {
    const stream = cycling(pool, bodies.get(route)!);
    out.set(route, await fixedRate(stream, { ...t, name: route }, step.rate, step.seconds));
  }
  return out;
}

async function decisionSamples(origin: string): Promise<Sample[]> {
  return parseDecisionSamples(await (await fetch(`${origin}/metrics`)).text());
}

export interface RouterPart<T> {
  result: Map<RouteName, T>;
  load: LoadSpan;
  /** The change of the decision metrics over the part. */
  decisions: Sample[];
}

/** Runs one part between two readings of the machine's load and of the gateway's decision metrics. */
async function part<T>(origin: string, run: () => Promise<Map<RouteName, T>>): Promise<RouterPart<T>> {
  const before = await decisionSamples(origin);
  const { result, load } = await withMachineLoad(run);
  return { result, load, decisions: diffSamples(await decisionSamples(origin), before) };
}

export interface RouterResults {
  quick: boolean;
  prompts: number;
  rounds: number;
  concurrencyOne: RouterPart<RouteLatency>;
  rate: RouterPart<RateResult> & { rate: number; seconds: number };
}

async function measure(t: Target, quick: boolean): Promise<Omit<RouterResults, 'quick'>> {
  const bodies = streams();
  const prompts = bodies.get('plain')!.length;
  const pool = new Pool(t.origin, { connections: 128, pipelining: 1 });
  try {
    await concurrencyOne(pool, t, bodies, 1); // connections, JIT, the models' first use
    const rounds = quick ? 2 : 6;
    const c1 = await part(t.origin, () => concurrencyOne(pool, t, bodies, rounds));
    const step = { rate: 200, seconds: quick ? 2 : 5 };
    const rate = await part(t.origin, () => rateSteps(pool, t, bodies, step));
    return { prompts, rounds, concurrencyOne: c1, rate: { ...rate, ...step } };
  } finally {
    await pool.close();
  }
}

/** Needs the upstream simulator running (servers.ts startSimulator); starts and stops the gateway. */
export async function benchRouter(ctx: ServerContext, quick: boolean): Promise<RouterResults> {
  const { server, target } = startRouterGateway(ctx, routerRoutes(), writeEmbeddingRouter(ctx.tmp));
  try {
    await waitFor(`${UPSTREAM}/v1/models`);
    await waitForTarget(target, chatBody('plain', 'hello'));
    return { quick, ...(await measure(target, quick)) };
  } finally {
    await stop(server);
  }
}
