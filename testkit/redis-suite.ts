// A redis-server for one describe block, and connected clients of it; the block's afterAll disconnects
// them and stops the server.
import { afterAll, beforeAll } from '@jest/globals';
import type { Redis } from 'ioredis';
import { connectRedis, redisReady } from '../gateway/src/policy/redis.js';
import { startRedis, type TestRedis } from './redis.js';

export function redisForSuite(commandTimeoutMs: number): {
  client: () => Promise<Redis>;
  /** The server, for outage tests (pause, kill, restart). */
  server: () => TestRedis;
} {
  let server: TestRedis | undefined;
  const clients: Redis[] = [];
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await server?.stop();
  });
  const started = (): TestRedis => {
    if (server === undefined) throw new Error('redisForSuite: the server starts in beforeAll');
    return server;
  };
  return {
    server: started,
    client: async () => {
      const c = connectRedis(started().url, { commandTimeoutMs });
      clients.push(c);
      await redisReady(c);
      return c;
    },
  };
}
