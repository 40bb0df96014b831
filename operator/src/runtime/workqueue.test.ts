import { WorkQueue } from './workqueue.js';

const tick = (ms = 0): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  test('coalesces adds of a waiting key into one reconcile', async () => {
    const seen: string[] = [];
    const q = new WorkQueue((k) => Promise.resolve(void seen.push(k)), { name: 't' });
    q.add('a');
    q.add('a');
    q.add('b');
    q.add('a');
    q.start();
    await q.drained();
    expect(seen).toEqual(['a', 'b']);
  });

  test('never processes a key twice at once and defers a re-add until it finishes', async () => {
    let running = 0;
    let maxRunning = 0;
    let calls = 0;
    const q = new WorkQueue(
      async () => {
        running++;
        calls++;
        maxRunning = Math.max(maxRunning, running);
        await tick(20);
        running--;
      },
      { name: 't', concurrency: 4 },
    );
    q.start();
    q.add('a');
    await tick(5);
    q.add('a');
    q.add('a');
    await tick(60);
    await q.drained();
    expect(maxRunning).toBe(1);
    expect(calls).toBe(2);
  });

  test('bounds concurrency across keys', async () => {
    let running = 0;
    let maxRunning = 0;
    const q = new WorkQueue(
      async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await tick(5);
        running--;
      },
      { name: 't', concurrency: 3 },
    );
    for (let i = 0; i < 20; i++) q.add(`k${i}`);
    q.start();
    await q.drained();
    expect(maxRunning).toBe(3);
  });

  test('retries a failing key with growing backoff, then forgets it on success', async () => {
    const at: number[] = [];
    const q = new WorkQueue(
      () => {
        at.push(Date.now());
        return at.length < 4 ? Promise.reject(new Error('boom')) : Promise.resolve();
      },
      { name: 't', baseDelayMs: 10, maxDelayMs: 1000 },
    );
    q.start();
    q.add('a');
    await tick(150);
    expect(at).toHaveLength(4);
    const gaps = at.slice(1).map((t, i) => t - (at[i] ?? 0));
    expect(gaps[1]).toBeGreaterThan(gaps[0] ?? 0);
    expect(gaps[2]).toBeGreaterThan(gaps[1] ?? 0);
  });

  test('a debounced burst becomes one add, no later than the max wait', async () => {
    const seen: number[] = [];
    const q = new WorkQueue(() => Promise.resolve(void seen.push(Date.now())), { name: 't' });
    q.start();
    const start = Date.now();
    for (let i = 0; i < 12; i++) {
      q.addDebounced('gw', 30, 100);
      await tick(10);
    }
    await tick(80);
    expect(seen.length).toBeGreaterThanOrEqual(1);
    expect(seen.length).toBeLessThanOrEqual(2);
    expect((seen[0] ?? 0) - start).toBeLessThan(160);
  });

  test('requeues after the delay a reconcile asks for', async () => {
    let calls = 0;
    const q = new WorkQueue(
      () => {
        calls++;
        return Promise.resolve(calls === 1 ? { requeueAfterMs: 20 } : undefined);
      },
      { name: 't' },
    );
    q.start();
    q.add('a');
    await tick(60);
    expect(calls).toBe(2);
  });

  test('dispatches nothing before start (a standby replica)', async () => {
    let calls = 0;
    const q = new WorkQueue(() => Promise.resolve(void calls++), { name: 't' });
    q.add('a');
    await tick(20);
    expect(calls).toBe(0);
    expect(q.depth).toBe(1);
  });
});
