// The storage behind the response cache: in memory (LRU, per replica) or Redis (shared by replicas). An
// entry is stored under its producer (cache/producer.ts) and the request's key, so a lookup names the
// producers whose answers the request may get, and a retired producer's entries can be deleted together.
import type { CacheEntry, StoredEntry } from './entry.js';

/** An entry found for a request, and the index of its producer in the list looked up. */
export interface FoundEntry {
  producerIndex: number;
  entry: StoredEntry;
}

/** What deleting retired producers' entries came to. */
export interface PurgeResult {
  deleted: number;
  /** Producers whose purge another replica took on (a shared store purges each producer once). */
  purgedElsewhere: number;
  /** False when the purge stopped at its time bound or on an error: what is left is never looked up. */
  complete: boolean;
  /** Why it stopped, when an error stopped it. */
  error?: string;
}

export interface CacheStore {
  /** "memory" or "redis": the store label of the fence metrics and logs. */
  readonly kind: 'memory' | 'redis';
  /** The entry for `request` of the first of `producers` that has one. */
  // The in-memory store answers at once (no promise on the request path); Redis answers with a promise.
  find(
    producers: readonly string[],
    request: string,
  ): FoundEntry | undefined | Promise<FoundEntry | undefined>;
  set(producer: string, request: string, entry: CacheEntry, ttlMs: number): void | Promise<void>;
  /** Deletes every entry of these producers. */
  purge(producers: readonly string[]): Promise<PurgeResult>;
}
