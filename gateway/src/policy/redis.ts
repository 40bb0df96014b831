// The one Redis connection the policy modules share, tuned to fail fast: no offline queue and no
// per-command retries (a limiter that waits for Redis turns an outage into a latency incident), a
// command timeout (a hung server answers nothing; SIGSTOP in tests), and endless background reconnects.
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

export interface RedisOptions {
  /** Per-command timeout, ms. Default 250. */
  commandTimeoutMs?: number;
}

export function connectRedis(url: string, options: RedisOptions = {}): Redis {
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 250,
    connectTimeout: 1000,
    retryStrategy: (times: number) => Math.min(50 * times, 1000),
    // Reconnect after errors such as READONLY (a failed-over replica) instead of erroring each command.
    reconnectOnError: (err: Error) => err.message.startsWith('READONLY'),
  });
  // Without a listener ioredis reports every failed reconnect on stderr; the stores log transitions.
  redis.on('error', () => undefined);
  return redis;
}

/** Resolves when the client is ready, or after timeoutMs (the stores cope with a Redis that is down). */
export async function redisReady(redis: Redis, timeoutMs = 2000): Promise<boolean> {
  if (redis.status === 'ready') return true;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      redis.off('ready', onReady);
      resolve(false);
    }, timeoutMs);
    const onReady = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    redis.once('ready', onReady);
  });
}

/** A Lua script run by EVALSHA, falling back to EVAL when the server lost its script cache (restart). */
export class LuaScript {
  private readonly sha: string;

  constructor(private readonly source: string) {
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  async run(redis: Redis, keys: string[], args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, keys.length, ...keys, ...args);
    }
  }
}
