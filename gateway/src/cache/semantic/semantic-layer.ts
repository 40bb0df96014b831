// The semantic layer behind the exact cache (cache.mode semantic): after an exact miss, the request's last
// user turn is embedded (built in, or by the route's embeddings server: late or failing, a plain miss; a
// hosted server of a route with a PII policy is sent it redacted) and
// looked up among the entries of its partition (semantic-key.ts); the nearest at
// or above the route's threshold that the false-hit guard accepts, and whose answer the store still holds,
// is a hit. Answers stay in the cache's store under their exact keys (memory or Redis, with its TTL,
// producers and fence); the index only maps a wording to the key of an answer. A stored answer is indexed
// with its text and vector; bad feedback on an answer served from here forgets its entry.
import type { Counter } from 'prom-client';
import type { Dispatcher } from 'undici';
import type { CompiledRoute, GatewayConfig } from '../../../../api/v1alpha1/gatewayconfig.js';
import type { Caller, ChatRequest } from '../../policy/types.js';
import type { StoredEntry } from '../entry.js';
import type { CacheStore } from '../store.js';
import { embedderText } from '../../compliance/route-policy.js';
import type { Logger } from '../../log.js';
import {
  EmbeddingsError,
  fetchEmbeddings,
  REST_SECONDS,
  RestingServers,
  unitLength,
} from '../../routing/embeddings-client.js';
import { SemanticIndex, type IndexedEntry } from './semantic-index.js';
import type { LocalIndex, SemanticRoute, SharedEntries, SharedEntry } from './shared-entries.js';
import { semanticQuery } from './semantic-key.js';

export interface SemanticDeps {
  /** The unit vector of a text. */
  embed: (text: string) => Float32Array;
  /** Why a cached text must not answer a query, or undefined when it may. */
  guard: (query: string, cached: string) => string | undefined;
  now: () => number;
  /** beastmode_cache_semantic_refusals_total. */
  refusals?: Counter<'namespace' | 'route' | 'reason'>;
  /** beastmode_cache_semantic_embeddings_total: calls to routes' embeddings servers, by result. */
  embeddings?: Counter<'namespace' | 'route' | 'result'>;
  log?: Logger;
  /** Connects to embeddings servers where the egress policy allows. */
  dispatcher?: Dispatcher;
}

/** What a miss remembers, to index the answer once it is stored. */
export interface SemanticMiss {
  route: string;
  partition: string;
  text: string;
  vector: Float32Array;
  maxEntries: number;
  /** The vector is an embeddings server's (dense). */
  dense: boolean;
}

export interface SemanticFound {
  producerIndex: number;
  entry: StoredEntry;
  similarity: number;
  indexed: IndexedEntry;
}

const routeId = (route: CompiledRoute) => `${route.namespace}/${route.name}`;

/** A config's semantic routes: their ids, entry caps, and whether their vectors are an embeddings server's. */
export function semanticRoutes(config: GatewayConfig): SemanticRoute[] {
  return config.routes
    .filter((r) => r.cache.mode === 'semantic')
    .map((r) => ({
      route: routeId(r),
      maxEntries: r.cache.semantic?.maxEntries ?? 10_000,
      dense: r.cache.semantic?.embeddings !== undefined,
    }));
}

/** A feedback score below this on a semantic hit's answer forgets the entry. */
export const BAD_SCORE = 0.5;
const SERVED_REMEMBERED = 20_000;

export class SemanticLayer implements LocalIndex {
  readonly index = new SemanticIndex();
  private readonly servers = new RestingServers();
  /** The entries shared with other replicas, when the cache store is Redis. */
  private shared: SharedEntries | undefined;
  /** Each semantic route's entry cap (from the config). */
  private readonly caps = new Map<string, number>();
  /** The semantic routes whose vectors come from an embeddings server. */
  private readonly dense = new Set<string>();
  /** Recent requests answered by a semantic hit: the entry that answered. */
  private readonly servedFrom = new Map<string, IndexedEntry>();

  constructor(private readonly deps: SemanticDeps) {}

  /**
   * The request's query and vector, when its route is semantic and its last user turn plain text; from the
   * route's embeddings server when it names one (late, failing or rested: no query, a plain miss).
   */
  async query(route: CompiledRoute, caller: Caller, request: ChatRequest): Promise<SemanticMiss | undefined> {
    const settings = route.cache.semantic;
    if (route.cache.mode !== 'semantic' || settings === undefined) return undefined;
    const q = semanticQuery(route, caller, request);
    if (q === undefined) return undefined;
    const vector =
      settings.embeddings === undefined ? this.deps.embed(q.text) : await this.fromServer(route, q.text);
    if (vector === undefined) return undefined;
    const dense = settings.embeddings !== undefined;
    return { route: routeId(route), ...q, vector, maxEntries: settings.maxEntries, dense };
  }

  /** The text's unit vector from the route's embeddings server, or undefined (counted, logged per rest). */
  private async fromServer(route: CompiledRoute, text: string): Promise<Float32Array | undefined> {
    const e = route.cache.semantic?.embeddings;
    if (e === undefined) return undefined;
    const server = `${e.url} ${e.model}`;
    const now = this.deps.now();
    const count = (result: string) =>
      this.deps.embeddings?.inc({ namespace: route.namespace, route: route.name, result });
    if (!this.servers.available(server, now)) {
      count('skipped');
      return undefined;
    }
    try {
      const sent = embedderText(route.compliance, e.url, text);
      const [v = []] = await fetchEmbeddings(e, [sent], e.timeoutMs, this.deps.dispatcher);
      this.servers.succeeded(server);
      count('ok');
      return unitLength(v);
    } catch (err) {
      const timedOut = err instanceof EmbeddingsError && err.timedOut;
      count(timedOut ? 'timeout' : 'error');
      if (this.servers.failed(server, now))
        this.deps.log?.log('warn', 'Embeddings server failing; semantic lookups miss meanwhile', {
          route: routeId(route),
          url: e.url,
          reason: err instanceof Error ? err.message : String(err),
          restSeconds: REST_SECONDS,
        });
      return undefined;
    }
  }

  /**
   * The nearest entry at or above the route's threshold, of one of `producers` (best first), that the guard
   * accepts and the store still holds; entries whose answer is gone are forgotten.
   */
  async find(
    route: CompiledRoute,
    q: SemanticMiss,
    producers: readonly string[],
    store: CacheStore,
  ): Promise<SemanticFound | undefined> {
    const settings = route.cache.semantic;
    if (settings === undefined) return undefined;
    const near = this.index.search(q.partition, q.text, q.vector, settings.threshold, this.deps.now());
    for (const { entry, similarity } of near) {
      const producerIndex = producers.indexOf(entry.producer);
      if (producerIndex < 0) continue;
      const refusal = settings.guard ? this.deps.guard(q.text, entry.text) : undefined;
      if (refusal !== undefined) {
        this.deps.refusals?.inc({ namespace: route.namespace, route: route.name, reason: refusal });
        continue;
      }
      const found = await store.find([entry.producer], entry.key);
      if (found === undefined) {
        this.index.remove(entry);
        continue;
      }
      this.index.touch(entry);
      void this.shared?.hit(q.route, { partition: q.partition, producer: entry.producer, key: entry.key });
      return { producerIndex, entry: found.entry, similarity, indexed: entry };
    }
    return undefined;
  }

  /** Indexes an answer just stored under `key` for a semantic miss (and shares the entry). */
  remember(miss: SemanticMiss, key: string, producer: string, ttlMs: number): void {
    const entry = { key, producer, text: miss.text, vector: miss.vector, expiresAt: this.deps.now() + ttlMs };
    this.index.add(miss.route, miss.partition, entry, miss.maxEntries, miss.dense);
    void this.shared?.publish({ ...entry, route: miss.route, partition: miss.partition }, miss.maxEntries);
  }

  /** Shares entries through Redis from now on. */
  share(shared: SharedEntries): void {
    this.shared = shared;
  }

  /** Follows a config's semantic routes: their caps; the others' entries are forgotten. */
  follow(routes: readonly SemanticRoute[]): void {
    this.caps.clear();
    this.dense.clear();
    for (const r of routes) {
      this.caps.set(r.route, r.maxEntries);
      if (r.dense === true) this.dense.add(r.route);
    }
    this.index.retain(new Set(this.caps.keys()));
  }

  /** An entry another replica shared (LocalIndex). */
  add(entry: SharedEntry): void {
    const cap = this.caps.get(entry.route);
    if (cap !== undefined)
      this.index.add(entry.route, entry.partition, entry, cap, this.dense.has(entry.route));
  }

  /** An entry another replica removed (LocalIndex). */
  remove(partition: string, producer: string, key: string): void {
    this.index.removeKey(partition, producer, key);
  }

  /** A request answered from `entry`, remembered (the last SERVED_REMEMBERED) for feedback on it. */
  served(requestId: string, entry: IndexedEntry): void {
    this.servedFrom.set(requestId, entry);
    if (this.servedFrom.size > SERVED_REMEMBERED)
      for (const id of this.servedFrom.keys()) {
        this.servedFrom.delete(id);
        break;
      }
  }

  /** Feedback on a request: below BAD_SCORE on an answer served from an entry, the entry is forgotten. */
  scored(requestId: string, score: number): void {
    const entry = this.servedFrom.get(requestId);
    if (entry === undefined) return;
    this.servedFrom.delete(requestId);
    if (score >= BAD_SCORE) return;
    const where = this.index.whereIs(entry);
    this.index.remove(entry);
    if (where !== undefined)
      void this.shared?.remove(where.route, { ...where, producer: entry.producer, key: entry.key });
  }
}
