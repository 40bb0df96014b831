// Per-replica LRU cache: a Map in recency order (a hit re-inserts its key), bounded by entry count and
// total bytes, with per-entry expiry read from the injected clock. Entries are kept encoded (UTF-8 bytes),
// so a hit writes a Buffer instead of encoding the same text again. Each entry remembers its producer, so
// a purge of retired producers is one pass over the map.
import type { Clock } from '../policy/types.js';
import { encodeUtf8, type CacheEntry, type EncodedEntry } from './entry.js';
import type { CacheStore, FoundEntry, PurgeResult } from './store.js';

export interface MemoryCacheOptions {
  clock: Clock;
  maxEntries: number;
  /** Bound on the sum of entry sizes. Default 256 MiB. */
  maxTotalBytes?: number;
}

interface Held {
  entry: EncodedEntry;
  producer: string;
  bytes: number;
  expiresAt: number;
}

const keyOf = (producer: string, request: string): string => `${producer}:${request}`;

export class MemoryCacheStore implements CacheStore {
  readonly kind = 'memory';
  private readonly entries = new Map<string, Held>();
  private totalBytes = 0;
  private readonly maxTotalBytes: number;

  constructor(private readonly options: MemoryCacheOptions) {
    this.maxTotalBytes = options.maxTotalBytes ?? 256 * 1024 * 1024;
  }

  setMaxEntries(maxEntries: number): void {
    this.options.maxEntries = maxEntries;
  }

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  find(producers: readonly string[], request: string): FoundEntry | undefined {
    for (let i = 0; i < producers.length; i++) {
      const entry = this.get(keyOf(producers[i] as string, request));
      if (entry !== undefined) return { producerIndex: i, entry };
    }
    return undefined;
  }

  set(producer: string, request: string, text: CacheEntry, ttlMs: number): void {
    const key = keyOf(producer, request);
    const entry = encodeUtf8(text);
    const bytes = entry.bytes.length;
    this.drop(key);
    this.entries.set(key, { entry, producer, bytes, expiresAt: this.options.clock.now() + ttlMs });
    this.totalBytes += bytes;
    while (this.entries.size > this.options.maxEntries || this.totalBytes > this.maxTotalBytes) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.drop(oldest);
    }
  }

  purge(producers: readonly string[]): Promise<PurgeResult> {
    const retired = new Set(producers);
    let deleted = 0;
    for (const [key, held] of this.entries) {
      if (!retired.has(held.producer)) continue;
      this.drop(key);
      deleted++;
    }
    return Promise.resolve({ deleted, purgedElsewhere: 0, complete: true });
  }

  private get(key: string): EncodedEntry | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    this.entries.delete(key);
    if (e.expiresAt <= this.options.clock.now()) {
      this.totalBytes -= e.bytes;
      return undefined;
    }
    this.entries.set(key, e);
    return e.entry;
  }

  private drop(key: string): void {
    const held = this.entries.get(key);
    if (held === undefined) return;
    this.entries.delete(key);
    this.totalBytes -= held.bytes;
  }
}
