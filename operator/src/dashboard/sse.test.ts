import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { SseHub, type SseLimits } from './sse.js';

/** A response that records writes and reports a socket buffer the test sets. */
class FakeResponse extends EventEmitter {
  writes: string[] = [];
  writableLength = 0;
  destroyed = false;
  status = 0;
  socket = { setNoDelay: () => undefined };
  writeHead(status: number): this {
    this.status = status;
    return this;
  }
  write(text: string): boolean {
    this.writes.push(text);
    return true;
  }
  end(text?: string): void {
    if (text) this.writes.push(text);
  }
  destroy(): void {
    this.destroyed = true;
    this.emit('close');
  }
}

const limits: SseLimits = { maxClients: 2, maxBufferedBytes: 100, maxPendingKeys: 3, heartbeatMs: 60_000 };
const tick = () => new Promise((r) => setImmediate(r));
const res = () => new FakeResponse() as unknown as ServerResponse & FakeResponse;

describe('SseHub', () => {
  test('sends the snapshot first, then coalesces a burst to the latest frame per object', async () => {
    const hub = new SseHub(limits);
    const r = res();
    expect(hub.attach(r, 'event: snapshot\ndata: {}\n\n')).toBe(true);
    for (let i = 0; i < 50; i++) hub.publish('canary/a/x', 'upsert', { weight: i });
    hub.publish('canary/a/y', 'upsert', { weight: 1 });
    await tick();
    expect(r.writes[0]).toContain('event: snapshot');
    expect(r.writes).toHaveLength(2);
    expect(r.writes[1]).toBe('event: upsert\ndata: {"weight":49}\n\nevent: upsert\ndata: {"weight":1}\n\n');
    hub.close();
  });

  test('drops a slow client instead of buffering for it, and keeps the others', async () => {
    const dropped: string[] = [];
    const hub = new SseHub(limits, (why) => dropped.push(why));
    const slow = res();
    const fast = res();
    hub.attach(slow, '');
    hub.attach(fast, '');
    slow.writableLength = 101;
    hub.publish('k', 'upsert', {});
    await tick();
    expect(slow.destroyed).toBe(true);
    expect(dropped).toEqual(['slow']);
    expect(hub.size).toBe(1);
    expect(fast.writes.at(-1)).toContain('event: upsert');
    hub.close();
  });

  test('bounds the pending frames per client', () => {
    const hub = new SseHub(limits);
    const r = res();
    hub.attach(r, '');
    for (let i = 0; i < 4; i++) hub.publish(`k${i}`, 'upsert', {});
    expect(r.destroyed).toBe(true);
    expect(hub.dropped).toBe(1);
    hub.close();
  });

  test('refuses clients over the cap with 503', () => {
    const hub = new SseHub(limits);
    expect(hub.attach(res(), '')).toBe(true);
    expect(hub.attach(res(), '')).toBe(true);
    const third = res();
    expect(hub.attach(third, '')).toBe(false);
    expect(third.status).toBe(503);
    hub.close();
  });
});
