// Which route, backend and variant served each recent request, by request id — for an answer from the
// cache, the backend variant that produced the entry: the feedback endpoint attributes a user's score to the
// variant that produced the answer, and only takes it from the caller who made the request.
//
// Kept out of the JS heap on purpose: an object (and an id string) per request, retained for the last
// 100,000 requests, is copied by young-generation collections and promoted to the old generation, which then
// needs full collections (measured at 500 req/s: 45–49 MB promoted over 15,000 requests with a Map of
// records, 28–34 MB with this table). Here a request costs a few typed-array writes: a ring of the last `capacity`
// requests holds each id's 64-bit hash and an index into a small table of distinct served records (route ×
// backend × variant × caller), and a hash index (open chaining in typed arrays) finds an id's slot.
// A lookup whose hash matches a different id is at worst refused by the caller check.

export interface ServedRecord {
  namespace: string;
  route: string;
  model: string;
  backend: string;
  variant: 'stable' | 'canary';
  /** The producer id of that backend variant (cache/producer.ts): which revision gave the answer. */
  producer?: string;
  /** The caller's key name ("anonymous" without auth), for feedback authorisation. */
  caller: string;
  /** The learning router chose this backend: the cell its feedback teaches, and the backend's arm. */
  learned?: { cell: string; arm: 'weak' | 'strong' };
  /** The experiment variant the request was assigned to, and the experiment's revision then. */
  experiment?: { name: string; variant: string; revision: string };
  /** When the request was recorded, ms since the epoch (whole seconds): set by lookups, not by callers. */
  at?: number;
}

/** Distinct served records; cleared when it outgrows its bound (old slots then read as unknown). */
const MAX_DISTINCT_RECORDS = 65_536;

/** Two 32-bit FNV-1a variants over the UTF-16 code units: a 64-bit id hash without allocating. */
function hashPair(s: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x9747b28c;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  return [a >>> 0, b >>> 0];
}

export class RecentRequests {
  /** Asks the other workers of the pod, when this process is one of several. */
  elsewhere: ((requestId: string) => Promise<ServedRecord | undefined>) | undefined;

  private readonly hashA: Uint32Array;
  private readonly hashB: Uint32Array;
  /** Index + 1 into `records` (0: empty slot, or a record forgotten when the table was cleared). */
  private readonly recordOf: Uint32Array;
  /** When each slot was recorded, whole seconds after `epochMs` (for the routes' feedback windows). */
  private readonly atSeconds: Uint32Array;
  private readonly epochMs: number;
  /** The next slot in the same bucket's chain, or -1. */
  private readonly chain: Int32Array;
  /** The first slot of each bucket's chain, or -1. */
  private readonly buckets: Int32Array;
  private readonly mask: number;
  private next = 0;
  private count = 0;
  private records: ServedRecord[] = [];
  private readonly recordIndex = new Map<string, number>();

  constructor(
    readonly capacity = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    this.epochMs = now();
    this.atSeconds = new Uint32Array(capacity);
    this.hashA = new Uint32Array(capacity);
    this.hashB = new Uint32Array(capacity);
    this.recordOf = new Uint32Array(capacity);
    this.chain = new Int32Array(capacity).fill(-1);
    let size = 1;
    while (size < capacity * 2) size <<= 1;
    this.buckets = new Int32Array(size).fill(-1);
    this.mask = size - 1;
  }

  record(requestId: string, served: ServedRecord): void {
    if (this.capacity === 0) return;
    const slot = this.next;
    this.next = slot + 1 === this.capacity ? 0 : slot + 1;
    // The ring fills in order: once full, the slot holds the oldest entry, which goes.
    if (this.count === this.capacity) this.unlink(slot);
    else this.count++;
    const [a, b] = hashPair(requestId);
    this.hashA[slot] = a;
    this.hashB[slot] = b;
    this.recordOf[slot] = this.intern(served) + 1;
    this.atSeconds[slot] = Math.max(0, Math.floor((this.now() - this.epochMs) / 1000));
    const bucket = a & this.mask;
    this.chain[slot] = this.buckets[bucket] as number;
    this.buckets[bucket] = slot;
  }

  /** The record of a request, with when it was recorded; undefined once it left the ring. */
  get(requestId: string): ServedRecord | undefined {
    const [a, b] = hashPair(requestId);
    for (let s = this.buckets[a & this.mask] as number; s !== -1; s = this.chain[s] as number) {
      if (this.hashA[s] === a && this.hashB[s] === b) {
        const r = this.recordOf[s] as number;
        const record = r === 0 ? undefined : this.records[r - 1];
        return record && { ...record, at: this.epochMs + (this.atSeconds[s] as number) * 1000 };
      }
    }
    return undefined;
  }

  /** Here first, then on the pod's other workers. */
  async find(requestId: string): Promise<ServedRecord | undefined> {
    return this.get(requestId) ?? (await this.elsewhere?.(requestId));
  }

  get size(): number {
    return this.count;
  }

  /** Removes the slot's entry from its bucket's chain (the oldest entry, about to be overwritten). */
  private unlink(slot: number): void {
    const bucket = (this.hashA[slot] as number) & this.mask;
    let s = this.buckets[bucket] as number;
    if (s === slot) {
      this.buckets[bucket] = this.chain[slot] as number;
      return;
    }
    while (s !== -1) {
      const after = this.chain[s] as number;
      if (after === slot) {
        this.chain[s] = this.chain[slot] as number;
        return;
      }
      s = after;
    }
  }

  private intern(r: ServedRecord): number {
    const learned = r.learned === undefined ? '' : `${r.learned.cell}\u0000${r.learned.arm}`;
    const e = r.experiment;
    const experiment = e === undefined ? '' : `${e.name}\u0000${e.variant}\u0000${e.revision}`;
    const key = `${r.namespace}\u0000${r.route}\u0000${r.model}\u0000${r.backend}\u0000${r.variant}\u0000${r.producer ?? ''}\u0000${r.caller}\u0000${learned}\u0000${experiment}`;
    const known = this.recordIndex.get(key);
    if (known !== undefined) return known;
    if (this.records.length >= MAX_DISTINCT_RECORDS) {
      // Callers × backends beyond the bound: forget the table; slots pointing past it read as unknown.
      this.records = [];
      this.recordIndex.clear();
      this.recordOf.fill(0);
    }
    this.records.push(r);
    this.recordIndex.set(key, this.records.length - 1);
    return this.records.length - 1;
  }
}
