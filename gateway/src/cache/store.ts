// The storage behind the response cache: in memory (LRU, per replica) or Redis (shared by replicas).
import type { CacheEntry } from './entry.js';

export interface CacheStore {
  get(key: string): Promise<CacheEntry | undefined>;
  set(key: string, entry: CacheEntry, ttlMs: number): Promise<void>;
}
