// The exact-match response cache in the request pipeline: lookup (hit | miss | bypass, with the value of
// the x-beastmode-cache header and the beastmode_cache_lookups_total count) and store. A lookup names the
// producers whose answers the request may get (cache/producer.ts), and a hit says which one produced it; an
// answer is stored under the producer that gave it. A store error — Redis down — is a miss on lookup and a
// no-op on store, logged once per outage, never a failed request.
import { StringDecoder } from 'node:string_decoder';
import type { CompiledRoute } from '../../../api/v1alpha1/gatewayconfig.js';
import { SseFramer } from '../accounting/sse.js';
import type { Logger } from '../log.js';
import type { Caller, ChatRequest } from '../policy/types.js';
import { bypassReason, cacheKey } from './cache-key.js';
import type { CacheFence } from './fence.js';
import {
  bodyFromEvents,
  encodedEvents,
  entryBytes,
  eventsFromBody,
  type CacheEntry,
  type StoredEntry,
} from './entry.js';
import type { IndexedEntry } from './semantic/semantic-index.js';
import type { SemanticLayer, SemanticMiss } from './semantic/semantic-layer.js';
import type { SemanticRoute } from './semantic/shared-entries.js';
import type { CacheStore, FoundEntry } from './store.js';

/**
 * What the server answers from: a JSON body, or SSE frames to write in order. `bytes`, when present, are
 * the UTF-8 bytes of the body or of the frames joined, ready to write (an in-memory entry); the text is
 * then decoded from them only if read.
 */
export type CachedResponse =
  { stream: false; body: string; bytes?: Buffer } | { stream: true; events: string[]; bytes?: Buffer };

class BodyBytes {
  readonly stream = false;
  constructor(readonly bytes: Buffer) {}
  get body(): string {
    return this.bytes.toString('utf8');
  }
}

class StreamBytes {
  readonly stream = true;
  constructor(
    readonly bytes: Buffer,
    private readonly ends: readonly number[],
  ) {}
  get events(): string[] {
    return encodedEvents({ bytes: this.bytes, ends: this.ends });
  }
}

/** Something that produces answers: a backend variant of a route, by its producer id. */
export interface ProducerRef {
  readonly producer: string;
}

/** A miss carries the request's key, to store the answer under whichever producer gives it. */
export type CacheLookup<P extends ProducerRef = ProducerRef> =
  | { result: 'bypass'; header: 'bypass'; reason: string }
  | { result: 'miss'; header: 'miss'; request: string; ttlMs: number; semantic?: SemanticMiss }
  | {
      result: 'hit';
      /** hit, or `semantic-hit; similarity=0.934`. */
      header: string;
      producer: P;
      response: CachedResponse;
      /** A semantic hit's index entry (for feedback on its answer). */
      semantic?: IndexedEntry;
    };

/** What a lookup that gets as far as the store counts as. */
export type CacheLookupResult = 'hit' | 'semantic-hit' | 'miss';

/** Counts beastmode_cache_lookups_total (GatewayMetrics, without building a label set per lookup). */
export interface LookupCounter {
  cacheLookup(route: CompiledRoute, result: CacheLookupResult): void;
}

export interface ResponseCacheOptions {
  store: CacheStore;
  /** This module is the one place that counts lookups. */
  lookups: LookupCounter;
  logger: Logger;
  maxEntryBytes: number;
  /** Which producers the served config has; without one, every producer is served. */
  fence?: CacheFence;
  /** The layer behind routes with cache.mode semantic. */
  semantic?: SemanticLayer;
}

export class ResponseCache {
  private failing = false;

  constructor(private readonly options: ResponseCacheOptions) {}

  /**
   * Looks `request` up among the entries of `producers`, best first; counts the lookup. Synchronous on an
   * exact route with the in-memory store.
   */
  lookup<P extends ProducerRef>(
    caller: Caller,
    route: CompiledRoute,
    request: ChatRequest,
    producers: readonly P[],
  ): CacheLookup<P> | Promise<CacheLookup<P>> {
    const reason = bypassReason(route, request);
    if (reason !== undefined) return { result: 'bypass', header: 'bypass', reason };
    const key = cacheKey(route, caller, request);
    const serving = this.serving(producers);
    if (serving.length === 0) return this.found(route, request, key, serving, undefined, caller);
    let found;
    try {
      found = this.options.store.find(
        serving.map((p) => p.producer),
        key,
      );
    } catch (err) {
      this.failed(err);
      return this.found(route, request, key, serving, undefined, caller);
    }
    if (!(found instanceof Promise)) {
      this.recovered();
      return this.found(route, request, key, serving, found, caller);
    }
    return found.then(
      (f) => {
        this.recovered();
        return this.found(route, request, key, serving, f, caller);
      },
      (err: unknown) => {
        this.failed(err);
        return this.found(route, request, key, serving, undefined, caller);
      },
    );
  }

  /** The lookup's answer once the store answered: a hit, else (semantic routes) a near one, else a miss. */
  private found<P extends ProducerRef>(
    route: CompiledRoute,
    request: ChatRequest,
    key: string,
    serving: readonly P[],
    found: FoundEntry | undefined,
    caller: Caller,
  ): CacheLookup<P> | Promise<CacheLookup<P>> {
    if (found !== undefined) {
      this.options.lookups.cacheLookup(route, 'hit');
      return {
        result: 'hit',
        header: 'hit',
        producer: serving[found.producerIndex] as P,
        response: respond(found.entry, request.stream === true),
      };
    }
    // An exact route's miss goes no further (and awaits nothing).
    if (route.cache.mode === 'semantic') return this.semanticLookup(route, request, key, serving, caller);
    this.options.lookups.cacheLookup(route, 'miss');
    return { result: 'miss', header: 'miss', request: key, ttlMs: route.cache.ttlMs };
  }

  /** A semantic route's miss: the nearest entry close enough, else a miss that remembers the query. */
  private async semanticLookup<P extends ProducerRef>(
    route: CompiledRoute,
    request: ChatRequest,
    key: string,
    serving: readonly P[],
    caller: Caller,
  ): Promise<CacheLookup<P>> {
    const semantic = await this.options.semantic?.query(route, caller, request);
    const near =
      semantic && serving.length > 0 ? await this.semanticFind(route, semantic, serving) : undefined;
    if (near !== undefined) {
      this.options.lookups.cacheLookup(route, 'semantic-hit');
      return {
        result: 'hit',
        header: `semantic-hit; similarity=${near.similarity.toFixed(3)}`,
        producer: serving[near.producerIndex] as P,
        response: respond(near.entry, request.stream === true),
        semantic: near.indexed,
      };
    }
    this.options.lookups.cacheLookup(route, 'miss');
    const miss = { result: 'miss' as const, header: 'miss' as const, request: key, ttlMs: route.cache.ttlMs };
    return semantic !== undefined ? { ...miss, semantic } : miss;
  }

  /**
   * Stores a complete response for a miss, under the producer that gave it. Entries over maxEntryBytes,
   * and answers of a producer the served config no longer has, are skipped. Resolves with whether it
   * stored the entry (at once with the in-memory store), never rejects.
   */
  store(miss: CacheLookup, producer: string, entry: CacheEntry): boolean | Promise<boolean> {
    if (miss.result !== 'miss' || entryBytes(entry) > this.options.maxEntryBytes) return false;
    if (this.options.fence?.serves(producer) === false) return false;
    let set;
    try {
      set = this.options.store.set(producer, miss.request, entry, miss.ttlMs);
    } catch (err) {
      this.failed(err);
      return false;
    }
    if (!(set instanceof Promise)) return this.stored(miss, producer);
    return set.then(
      () => this.stored(miss, producer),
      (err: unknown) => {
        this.failed(err);
        return false;
      },
    );
  }

  private stored(miss: CacheLookup & { result: 'miss' }, producer: string): true {
    this.recovered();
    if (miss.semantic !== undefined)
      this.options.semantic?.remember(miss.semantic, miss.request, producer, miss.ttlMs);
    return true;
  }

  setMaxEntryBytes(maxEntryBytes: number): void {
    this.options.maxEntryBytes = maxEntryBytes;
  }

  /** Records a streamed response frame by frame, for store() once it completes. */
  recorder(): StreamRecorder {
    return new StreamRecorder(this.options.maxEntryBytes);
  }

  /** Entries in each semantic route's index (route → count). */
  semanticEntries(): Map<string, number> {
    return this.options.semantic?.index.sizes() ?? new Map<string, number>();
  }

  /** Follows a config's semantic routes (their caps); the entries of others are forgotten. */
  followSemantic(routes: readonly SemanticRoute[]): void {
    this.options.semantic?.follow(routes);
  }

  /** A request answered by a semantic hit on `entry` (feedback on it may forget the entry). */
  servedFromSemantic(requestId: string, entry: IndexedEntry): void {
    this.options.semantic?.served(requestId, entry);
  }

  /** A feedback score on a request's answer: a bad one on a semantic hit forgets its entry. */
  scored(requestId: string, score: number): void {
    this.options.semantic?.scored(requestId, score);
  }

  /** A semantic lookup; a store error is a miss. */
  private async semanticFind(route: CompiledRoute, q: SemanticMiss, serving: readonly ProducerRef[]) {
    try {
      const found = await this.options.semantic?.find(
        route,
        q,
        serving.map((p) => p.producer),
        this.options.store,
      );
      this.recovered();
      return found;
    } catch (err) {
      this.failed(err);
      return undefined;
    }
  }

  /** The producers the served config still has (in flight across a config change, some may not be). */
  private serving<P extends ProducerRef>(producers: readonly P[]): readonly P[] {
    const fence = this.options.fence;
    if (fence === undefined || producers.every((p) => fence.serves(p.producer))) return producers;
    return producers.filter((p) => fence.serves(p.producer));
  }

  private failed(err: unknown): void {
    if (this.failing) return;
    this.failing = true;
    this.options.logger.log('warn', 'Cache store unreachable, answering from upstream', {
      component: 'cache',
      error: err instanceof Error ? err.message : String(err),
    });
  }

  private recovered(): void {
    if (!this.failing) return;
    this.failing = false;
    this.options.logger.log('info', 'Cache store reachable again', { component: 'cache' });
  }
}

function respond(entry: StoredEntry, stream: boolean): CachedResponse {
  if (entry.kind === 'body-bytes') {
    return stream
      ? { stream: true, events: eventsFromBody(entry.bytes.toString('utf8')) }
      : new BodyBytes(entry.bytes);
  }
  if (entry.kind === 'stream-bytes') {
    return stream
      ? new StreamBytes(entry.bytes, entry.ends)
      : { stream: false, body: bodyFromEvents(encodedEvents(entry)) };
  }
  if (entry.kind === 'stream') {
    return stream
      ? { stream: true, events: entry.events }
      : { stream: false, body: bodyFromEvents(entry.events) };
  }
  return stream ? { stream: true, events: eventsFromBody(entry.body) } : { stream: false, body: entry.body };
}

/**
 * Collects the SSE frames of a streamed response exactly as sent. `entry()` is defined only for a stream
 * that ended with `data: [DONE]` and stayed within maxEntryBytes: aborted or failed streams are never
 * cached.
 */
export class StreamRecorder {
  private readonly framer = new SseFramer();
  // Decodes across chunk boundaries, so a multi-byte character split between chunks survives intact.
  private readonly decoder = new StringDecoder('utf8');
  private readonly events: string[] = [];
  private bytes = 0;
  private done = false;
  private overflow = false;

  constructor(private readonly maxBytes: number) {}

  push(chunk: string | Buffer): void {
    if (this.overflow) return;
    for (const f of this.framer.push(typeof chunk === 'string' ? chunk : this.decoder.write(chunk))) {
      this.bytes += Buffer.byteLength(f);
      if (this.bytes > this.maxBytes) {
        this.overflow = true;
        this.events.length = 0;
        return;
      }
      this.events.push(f);
      if (/^data: ?\[DONE\]/m.test(f)) this.done = true;
    }
  }

  entry(): CacheEntry | undefined {
    if (!this.done || this.overflow || this.framer.rest !== '') return undefined;
    return { kind: 'stream', events: [...this.events] };
  }
}
