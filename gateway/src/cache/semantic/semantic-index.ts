// The semantic cache's nearest-neighbour index, per gateway replica: entries (a cached request's exact key,
// its producer, the text of its last user turn and that text's unit vector) grouped in partitions — one per
// route, scope and everything else of the request (semantic-key.ts) — so a search only ever sees entries a
// request may be served from. A search returns the entries at or above a similarity, best first.
//
// Small partitions are searched exhaustively (an embeddings server's dense vectors up to
// EXHAUSTIVE_LIMIT_DENSE entries, the built-in embedder's up to EXHAUSTIVE_LIMIT). Past that, the candidates
// are the entries that share one of the query's rarest words (an inverted index of words), at most
// MAX_CANDIDATES: an entry similar enough to be a hit shares most of its words with the query, so it shares
// one of those; one that shares none, or is crowded out, is missed — which costs a miss, never a wrong hit.
// Dense vectors can be close with no word in common: their candidates are also the entries in the query's
// random-hyperplane buckets (hyperplanes.ts), at most MAX_DENSE_CANDIDATES in all.
// Each route's entries are capped (least recently hit dropped first) and expire with the cache's TTL.

import { bucketsOf } from './hyperplanes.js';

const EXHAUSTIVE_LIMIT = 512;
/** Dense vectors (an embeddings server's) are searched exhaustively longer: a rewording may share no word. */
const EXHAUSTIVE_LIMIT_DENSE = 4096;
/** The rarest query words whose postings are the candidates of a large partition. */
const RARE_WORDS = 4;
/** Most candidates scored in a large partition (the rarest words' postings first; past it, a miss). */
const MAX_CANDIDATES = 1024;
/** Most candidates of a large dense partition: words, then buckets (a 512-d dot product is ~0.3 µs). */
const MAX_DENSE_CANDIDATES = 2048;

export interface IndexedEntry {
  /** The exact cache key of the request the entry was stored for. */
  key: string;
  producer: string;
  /** The last user turn's text (for the false-hit guard). */
  text: string;
  vector: Float32Array;
  expiresAt: number;
}

interface Slot extends IndexedEntry {
  partition: Partition;
  route: string;
  words: number[];
  /** Its hyperplane buckets, in a dense partition (else none). */
  buckets: number[];
  /** Where it is in its partition's slots. */
  at: number;
  /** The search that last took it as a candidate. */
  mark: number;
  dead: boolean;
}

class Partition {
  readonly slots: Slot[] = [];
  /** The live slot of each producer and key. */
  readonly byKey = new Map<string, Slot>();
  /** Word hash → the slots whose text has it (removed slots linger, marked dead, until a rebuild). */
  postings = new Map<number, Slot[]>();
  /** Hyperplane bucket → the slots in it (dense partitions; dead slots linger as in postings). */
  buckets = new Map<number, Slot[]>();
  /** Dead slots still in postings and buckets. */
  lingering = 0;
  constructor(
    readonly id: string,
    /** Vectors from an embeddings server: searched exhaustively longer (a rewording may share no word). */
    readonly dense: boolean,
  ) {}

  post(slot: Slot): void {
    const into = (lists: Map<number, Slot[]>, keys: number[]) => {
      for (const k of keys) {
        const list = lists.get(k);
        if (list === undefined) lists.set(k, [slot]);
        else list.push(slot);
      }
    };
    into(this.postings, slot.words);
    into(this.buckets, slot.buckets);
  }

  /** Rebuilds the postings from the live slots once the dead outnumber them. */
  compact(): void {
    if (this.lingering <= this.slots.length + 1024) return;
    this.postings = new Map();
    this.buckets = new Map();
    this.lingering = 0;
    for (const s of this.slots) this.post(s);
  }
}

/** Lower-cased words of two or more letters or digits, as FNV-1a hashes; each once. */
export function wordHashes(text: string): number[] {
  const out = new Set<number>();
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}_]{2,}/gu)) {
    let h = 0x811c9dc5;
    const w = m[0];
    for (let i = 0; i < w.length; i++) h = Math.imul(h ^ w.charCodeAt(i), 0x01000193) >>> 0;
    out.add(h);
  }
  return [...out];
}

/** The non-zero dimensions of a vector and their values (a text's vector is mostly zeros). */
function sparse(v: Float32Array): { at: Int32Array; values: Float64Array } {
  let n = 0;
  for (let i = 0; i < v.length; i++) if (v[i] !== 0) n++;
  const at = new Int32Array(n);
  const values = new Float64Array(n);
  n = 0;
  for (let i = 0; i < v.length; i++)
    if (v[i] !== 0) {
      at[n] = i;
      values[n++] = v[i] as number;
    }
  return { at, values };
}

function dot(q: { at: Int32Array; values: Float64Array }, b: Float32Array): number {
  let s = 0;
  for (let k = 0; k < q.at.length; k++) s += (q.values[k] as number) * (b[q.at[k] as number] as number);
  return s;
}

export interface Neighbour {
  entry: IndexedEntry;
  similarity: number;
}

export class SemanticIndex {
  private readonly partitions = new Map<string, Partition>();
  /** Per route: its live slots, least recently hit first (a Set keeps insertion order). */
  private readonly routes = new Map<string, Set<Slot>>();
  private stamp = 0;

  /** Entries per route. */
  sizes(): Map<string, number> {
    return new Map([...this.routes].map(([route, lru]) => [route, lru.size]));
  }

  /** Entries in all partitions. */
  size(): number {
    let n = 0;
    for (const r of this.routes.values()) n += r.size;
    return n;
  }

  /**
   * Adds (or replaces, by key) an entry of `route` in `partition`; drops the route's oldest past `max`.
   * `dense`: the partition's vectors come from an embeddings server (its large partitions also bucketed).
   */
  add(route: string, partition: string, entry: IndexedEntry, max: number, dense = false): void {
    const id = `${entry.producer} ${entry.key}`;
    const same = this.partitions.get(partition)?.byKey.get(id);
    if (same !== undefined) this.drop(same);
    let p = this.partitions.get(partition);
    if (p === undefined) this.partitions.set(partition, (p = new Partition(partition, dense)));
    const words = wordHashes(entry.text);
    const buckets = p.dense ? bucketsOf(entry.vector) : [];
    const slot: Slot = {
      ...entry,
      partition: p,
      route,
      words,
      buckets,
      at: p.slots.length,
      mark: 0,
      dead: false,
    };
    p.slots.push(slot);
    p.byKey.set(id, slot);
    p.post(slot);
    let lru = this.routes.get(route);
    if (lru === undefined) this.routes.set(route, (lru = new Set()));
    lru.add(slot);
    for (const oldest of lru) {
      if (lru.size <= max) break;
      this.drop(oldest);
    }
  }

  /**
   * Live entries of `partition` at or above `threshold` similarity to `vector` (unit length, as the
   * entries'), best first, at most `k`; expired ones met on the way are dropped.
   */
  search(
    partition: string,
    text: string,
    vector: Float32Array,
    threshold: number,
    now: number,
    k = 3,
  ): Neighbour[] {
    const p = this.partitions.get(partition);
    if (p === undefined) return [];
    const found: Neighbour[] = [];
    const q = sparse(vector);
    for (const slot of this.candidates(p, text, vector)) {
      if (slot.dead) continue;
      if (slot.expiresAt <= now) {
        this.drop(slot);
        continue;
      }
      const similarity = dot(q, slot.vector);
      if (similarity >= threshold) found.push({ entry: slot, similarity });
    }
    return found.sort((a, b) => b.similarity - a.similarity).slice(0, k);
  }

  /** A hit: the entry is the route's most recently used. */
  touch(entry: IndexedEntry): void {
    const slot = entry as Slot;
    const lru = this.routes.get(slot.route);
    if (lru === undefined || slot.dead) return;
    lru.delete(slot);
    lru.add(slot);
  }

  /** Forgets an entry (bad feedback on its answer, or its stored answer is gone). */
  remove(entry: IndexedEntry): void {
    const slot = entry as Slot;
    if (!slot.dead && slot.partition !== undefined) this.drop(slot);
  }

  /** Forgets the entry of `producer` and `key` in `partition`, if there is one. */
  removeKey(partition: string, producer: string, key: string): void {
    const slot = this.partitions.get(partition)?.byKey.get(`${producer} ${key}`);
    if (slot !== undefined) this.drop(slot);
  }

  /** The route and partition an entry was added to (undefined once it is gone). */
  whereIs(entry: IndexedEntry): { route: string; partition: string } | undefined {
    const slot = entry as Slot;
    return slot.dead || slot.partition === undefined
      ? undefined
      : { route: slot.route, partition: slot.partition.id };
  }

  /** Forgets the entries of routes not in `routes` (a config without them). */
  retain(routes: ReadonlySet<string>): void {
    for (const [route, lru] of this.routes) if (!routes.has(route)) for (const s of [...lru]) this.drop(s);
  }

  private candidates(p: Partition, text: string, vector: Float32Array): readonly Slot[] {
    if (p.slots.length <= (p.dense ? EXHAUSTIVE_LIMIT_DENSE : EXHAUSTIVE_LIMIT)) return p.slots;
    const lists = wordHashes(text)
      .map((w) => p.postings.get(w))
      .filter((l): l is Slot[] => l !== undefined)
      .sort((a, b) => a.length - b.length)
      .slice(0, RARE_WORDS);
    const stamp = ++this.stamp;
    const out: Slot[] = [];
    const take = (list: readonly Slot[], max: number) => {
      // The newest postings of a word too common to score whole.
      for (let i = list.length - 1; i >= 0 && out.length < max; i--) {
        const s = list[i] as Slot;
        if (s.mark === stamp) continue;
        s.mark = stamp;
        out.push(s);
      }
    };
    for (const list of lists) take(list, MAX_CANDIDATES);
    if (p.dense) for (const b of bucketsOf(vector)) take(p.buckets.get(b) ?? [], MAX_DENSE_CANDIDATES);
    return out;
  }

  private drop(slot: Slot): void {
    if (slot.dead) return;
    slot.dead = true;
    const p = slot.partition;
    const last = p.slots.pop() as Slot;
    if (last !== slot) {
      p.slots[slot.at] = last;
      last.at = slot.at;
    }
    p.byKey.delete(`${slot.producer} ${slot.key}`);
    p.lingering++;
    p.compact();
    this.routes.get(slot.route)?.delete(slot);
    if (p.slots.length === 0) this.partitions.delete(p.id);
  }
}
