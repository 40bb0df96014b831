// A feedback ledger shared by replicas: SET NX with a TTL (the lifetime of a request id in the server's
// recent-requests memory). When Redis is unreachable it falls back to the local ledger: a score may then
// be counted once per replica at worst, which is better than refusing feedback.
import type { Redis } from 'ioredis';
import { MemoryFeedbackLedger, type FeedbackLedger } from './feedback.js';

export class RedisFeedbackLedger implements FeedbackLedger {
  private readonly local = new MemoryFeedbackLedger();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs = 86_400_000,
  ) {}

  async claim(requestId: string): Promise<boolean> {
    try {
      const r = await this.redis.set(`${this.prefix}:feedback:${requestId}`, '1', 'PX', this.ttlMs, 'NX');
      return r === 'OK';
    } catch {
      return this.local.claim(requestId);
    }
  }
}
