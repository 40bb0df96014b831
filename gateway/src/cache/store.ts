// The storage behind the response cache: in memory (LRU, per replica) or Redis (shared by replicas).
import type { CacheEntry, StoredEntry } from './entry.js';

export interface CacheStore {
  get(key: string): Promise<StoredEntry | undefined>;
  set(key: string, entry: CacheEntry, ttlMs: number): Promise<void>;
}
