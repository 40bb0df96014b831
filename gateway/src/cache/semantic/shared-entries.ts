// The semantic index shared by gateway replicas through Redis: the answers already live in the shared cache
// store; what replicas share here are the index entries (partition, producer, exact key, text, vector,
// expiry), so each replica keeps its own local index (semantic-index.ts) of everyone's entries.
//
// - `<prefix>:sem:<route>:entries` (hash: entry id → the entry as JSON, its vector in base64) and
//   `<prefix>:sem:<route>:hits` (sorted set: entry id → hits): every entry and how often it answered.
// - `<prefix>:sem:log` (a stream, capped): each entry added or removed, in order. Every replica reads it
//   every second from where it left off and applies what the others did.
// - Warming: before a replica reports ready, it loads each semantic route's most-hit entries (up to the
//   route's maxEntries) from the hash, having noted the stream's position first so that nothing written
//   while it loads is missed.
// Redis errors are logged once per outage and cost sharing only: the local index keeps working.
import type { Redis } from 'ioredis';
import type { Logger } from '../../log.js';
import type { IndexedEntry } from './semantic-index.js';

const LOG_MAX = 100_000;
/** Longest a new replica waits for its semantic cache to warm before it reports ready anyway. */
const WARM_TIMEOUT_MS = 10_000;
const READ_COUNT = 1000;
const FOLLOW_MS = 1000;

/** What a replica shares of an entry. */
export interface SharedEntry extends IndexedEntry {
  route: string;
  partition: string;
}

interface Wire {
  r: string;
  p: string;
  k: string;
  pr: string;
  t: string;
  v: string;
  e: number;
}

export const entryId = (e: { partition: string; producer: string; key: string }) =>
  `${e.partition}.${e.producer}.${e.key}`;

const toWire = (e: SharedEntry): string =>
  JSON.stringify({
    r: e.route,
    p: e.partition,
    k: e.key,
    pr: e.producer,
    t: e.text,
    v: Buffer.from(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength).toString('base64'),
    e: e.expiresAt,
  } satisfies Wire);

function fromWire(text: string): SharedEntry | undefined {
  try {
    const w = JSON.parse(text) as Wire;
    const bytes = Buffer.from(w.v, 'base64');
    const vector = new Float32Array(
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    );
    return { route: w.r, partition: w.p, key: w.k, producer: w.pr, text: w.t, vector, expiresAt: w.e };
  } catch {
    return undefined;
  }
}

/** A semantic route of the config: its id, its entry cap, whether its vectors are dense (a server's). */
export interface SemanticRoute {
  route: string;
  maxEntries: number;
  dense?: boolean;
}

/** What the shared entries do to the local index. */
export interface LocalIndex {
  add(entry: SharedEntry): void;
  remove(partition: string, producer: string, key: string): void;
}

export class SharedEntries {
  private cursor = '$';
  private timer: NodeJS.Timeout | undefined;
  private failing = false;
  private following: Promise<void> | undefined;
  /** Undefined until the first config; then false while warming, true after. */
  private warmed: boolean | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly local: LocalIndex,
    private readonly log: Logger,
    private readonly now: () => number,
  ) {}

  private entriesKey = (route: string) => `${this.prefix}:sem:${route}:entries`;
  private hitsKey = (route: string) => `${this.prefix}:sem:${route}:hits`;
  private get logKey() {
    return `${this.prefix}:sem:log`;
  }

  /**
   * A config's semantic routes. The first config: the replica loads each route's most-hit entries before it
   * reports ready (at most WARM_TIMEOUT_MS; `connected` resolves once Redis is), then follows the log. A
   * later config with a semantic route follows the log if nothing did yet.
   */
  followRoutes(routes: readonly SemanticRoute[], connected: () => Promise<void>): void {
    if (this.warmed !== undefined) {
      if (routes.length > 0) this.start();
      return;
    }
    if (routes.length === 0) {
      this.warmed = true;
      return;
    }
    this.warmed = false;
    const started = this.now();
    const done = (loaded: number | undefined) => {
      if (this.warmed === true) return;
      this.warmed = true;
      this.log.log('info', 'Semantic cache warmed', {
        component: 'cache',
        entries: loaded ?? 'not all: the time bound passed',
        ms: this.now() - started,
      });
    };
    const timer = setTimeout(() => done(undefined), WARM_TIMEOUT_MS);
    timer.unref();
    void connected()
      .then(() => this.warm(routes))
      .then((n) => {
        clearTimeout(timer);
        done(n);
      });
  }

  /** False while a new replica warms (it does not report ready until then). */
  isWarm(): boolean {
    return this.warmed !== false;
  }

  /** Shares an entry this replica indexed; keeps the route's shared entries within twice its cap. */
  async publish(e: SharedEntry, cap: number): Promise<void> {
    const id = entryId(e);
    const done = await this.run(() =>
      this.redis
        .multi()
        .hset(this.entriesKey(e.route), id, toWire(e))
        .zadd(this.hitsKey(e.route), 'NX', 0, id)
        .zcard(this.hitsKey(e.route))
        .xadd(this.logKey, 'MAXLEN', '~', LOG_MAX, '*', 'op', 'add', 'route', e.route, 'id', id)
        .exec(),
    );
    const count = Number(done?.[2]?.[1] ?? 0);
    if (count > 2 * cap) {
      // The least hit (the oldest among equals) leave the shared set.
      const out = await this.run(() => this.redis.zrange(this.hitsKey(e.route), 0, count - 2 * cap - 1));
      if (out !== undefined && out.length > 0) await this.forget(e.route, out);
    }
  }

  /** Deletes entries from a route's shared set (expired, or past its cap). */
  private async forget(route: string, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.run(() =>
      this.redis
        .multi()
        .hdel(this.entriesKey(route), ...ids)
        .zrem(this.hitsKey(route), ...ids)
        .exec(),
    );
  }

  /** Counts a hit on an entry (warming loads the most-hit first). */
  async hit(route: string, e: { partition: string; producer: string; key: string }): Promise<void> {
    await this.run(() => this.redis.zincrby(this.hitsKey(route), 1, entryId(e)));
  }

  /** Removes an entry everywhere (bad feedback on its answer). */
  async remove(route: string, e: { partition: string; producer: string; key: string }): Promise<void> {
    const id = entryId(e);
    await this.run(() =>
      this.redis
        .multi()
        .hdel(this.entriesKey(route), id)
        .zrem(this.hitsKey(route), id)
        .xadd(this.logKey, 'MAXLEN', '~', LOG_MAX, '*', 'op', 'del', 'route', route, 'id', id)
        .exec(),
    );
  }

  /**
   * Loads each route's most-hit live entries (up to its max) into the local index, then follows the log
   * from the position noted before loading. Resolves with the number of entries loaded.
   */
  async warm(routes: readonly SemanticRoute[]): Promise<number> {
    const last = await this.run(() => this.redis.xrevrange(this.logKey, '+', '-', 'COUNT', 1));
    this.cursor = last?.[0]?.[0] ?? '0-0';
    let loaded = 0;
    for (const { route, maxEntries } of routes) {
      const ids = await this.run(() => this.redis.zrevrange(this.hitsKey(route), 0, maxEntries - 1));
      if (ids === undefined || ids.length === 0) continue;
      const texts = (await this.run(() => this.redis.hmget(this.entriesKey(route), ...ids))) ?? [];
      // Least hit first, so that the most hit end up the most recently used in the local index.
      const gone: string[] = [];
      for (let i = texts.length - 1; i >= 0; i--) {
        const text = texts[i];
        const e = text === null || text === undefined ? undefined : fromWire(text);
        if (e === undefined || e.expiresAt <= this.now()) gone.push(ids[i] as string);
        else {
          this.local.add(e);
          loaded++;
        }
      }
      await this.forget(route, gone);
    }
    this.start();
    return loaded;
  }

  /** Follows the log every second (after warm(), or at once when there is nothing to warm). */
  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => void this.follow(), FOLLOW_MS);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Applies what the log says since the cursor (this replica's own additions are applied again: a no-op). */
  follow(): Promise<void> {
    this.following ??= this.readLog().finally(() => (this.following = undefined));
    return this.following;
  }

  private async readLog(): Promise<void> {
    const read = await this.run(() =>
      this.redis.xread('COUNT', READ_COUNT, 'STREAMS', this.logKey, this.cursor),
    );
    const messages = read?.[0]?.[1] ?? [];
    const adds = new Map<string, string[]>();
    for (const [id, fields] of messages) {
      this.cursor = id;
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i] as string, fields[i + 1] as string);
      const route = f.get('route');
      const entry = f.get('id');
      if (route === undefined || entry === undefined) continue;
      if (f.get('op') === 'del') {
        const [partition = '', producer = '', key = ''] = entry.split('.');
        this.local.remove(partition, producer, key);
      } else adds.set(route, [...(adds.get(route) ?? []), entry]);
    }
    for (const [route, ids] of adds) {
      const texts = (await this.run(() => this.redis.hmget(this.entriesKey(route), ...ids))) ?? [];
      for (const text of texts) {
        const e = text === null || text === undefined ? undefined : fromWire(text);
        if (e !== undefined && e.expiresAt > this.now()) this.local.add(e);
      }
    }
  }

  /** Runs a Redis call; an error is logged once per outage and reads as undefined. */
  private async run<T>(call: () => Promise<T>): Promise<T | undefined> {
    try {
      const r = await call();
      if (this.failing)
        this.log.log('info', 'Semantic cache sharing reachable again', { component: 'cache' });
      this.failing = false;
      return r;
    } catch (err) {
      if (!this.failing)
        this.log.log('warn', 'Semantic cache sharing unreachable; each replica keeps its own index', {
          component: 'cache',
          error: err instanceof Error ? err.message : String(err),
        });
      this.failing = true;
      return undefined;
    }
  }
}
