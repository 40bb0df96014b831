// Where the learning routers' counts are shared: replicas add what they counted and read back the sum,
// so every replica plans from all the traffic, and a restarted replica starts from what was learnt. In
// memory (one process: nothing shared, nothing kept across restarts) or in Redis (one hash per route and
// learner identity; the fields are `<cell>|<count>`, added with HINCRBYFLOAT in one MULTI with the read).
import type { Redis } from 'ioredis';
import { addCounts, type CellCounts, type LearnerCounts } from './router-learner.js';

export interface LearnerStore {
  /** Adds a replica's delta to the shared counts and returns the shared counts after it. */
  exchange(key: string, delta: LearnerCounts): Promise<LearnerCounts>;
  /** Forgets the shared counts. */
  clear(key: string): Promise<void>;
}

export class MemoryLearnerStore implements LearnerStore {
  private readonly counts = new Map<string, LearnerCounts>();

  exchange(key: string, delta: LearnerCounts): Promise<LearnerCounts> {
    const c = addCounts(this.counts.get(key) ?? {}, delta);
    this.counts.set(key, c);
    return Promise.resolve(addCounts({}, c));
  }

  clear(key: string): Promise<void> {
    this.counts.delete(key);
    return Promise.resolve();
  }
}

const FIELDS = ['requests', 'pSum', 'staticLoss', 'weak.n', 'weak.good', 'strong.n', 'strong.good'] as const;
type Field = (typeof FIELDS)[number];

const read = (c: CellCounts, f: Field): number => {
  switch (f) {
    case 'requests':
      return c.requests;
    case 'pSum':
      return c.pSum;
    case 'staticLoss':
      return c.staticLoss;
    case 'weak.n':
      return c.weak.n;
    case 'weak.good':
      return c.weak.good;
    case 'strong.n':
      return c.strong.n;
    case 'strong.good':
      return c.strong.good;
    default: {
      const never: never = f;
      throw new Error(`unknown learner count ${String(never)}`);
    }
  }
};

/** The counts of a Redis hash read back; fields it does not know are ignored. */
export function countsOfHash(hash: Record<string, string>): LearnerCounts {
  const out: LearnerCounts = {};
  for (const [field, value] of Object.entries(hash)) {
    const bar = field.lastIndexOf('|');
    const cell = field.slice(0, bar);
    const name = field.slice(bar + 1) as Field;
    const v = Number(value);
    if (bar <= 0 || !FIELDS.includes(name) || !Number.isFinite(v)) continue;
    const c = (out[cell] ??= {
      requests: 0,
      pSum: 0,
      staticLoss: 0,
      weak: { n: 0, good: 0 },
      strong: { n: 0, good: 0 },
    });
    if (name === 'requests' || name === 'pSum' || name === 'staticLoss') c[name] = v;
    else {
      const [arm, count] = name.split('.') as ['weak' | 'strong', 'n' | 'good'];
      c[arm][count] = v;
    }
  }
  return out;
}

export class RedisLearnerStore implements LearnerStore {
  /** Counts untouched for `ttlMs` (a route gone, a learner replaced) are dropped by Redis. */
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs = 30 * 86_400_000,
  ) {}

  async exchange(key: string, delta: LearnerCounts): Promise<LearnerCounts> {
    const m = this.redis.multi();
    for (const [cell, c] of Object.entries(delta))
      for (const f of FIELDS) {
        const v = read(c, f);
        if (v !== 0) m.hincrbyfloat(key, `${cell}|${f}`, v);
      }
    m.hgetall(key);
    m.pexpire(key, this.ttlMs);
    const replies = await m.exec();
    if (replies === null) throw new Error('the learner counts transaction was discarded');
    const failed = replies.find(([err]) => err !== null);
    if (failed?.[0]) throw failed[0];
    const hash = replies[replies.length - 2]?.[1] as Record<string, string> | undefined;
    return countsOfHash(hash ?? {});
  }

  async clear(key: string): Promise<void> {
    await this.redis.del(key);
  }
}
