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

  test('a key that always fails and makes its own events backs off alone: bounded attempts, others unhurt', async () => {
    let failing = 0;
    let healthy = 0;
    let q: WorkQueue | undefined = undefined;
    q = new WorkQueue(
      (key) => {
        if (key === 'b') return Promise.resolve(void healthy++);
        failing++;
        // Its reconcile writes something that comes back as an event for itself (a status, an owned object).
        q?.add('a');
        return Promise.reject(new Error('permanently broken'));
      },
      { name: 't', baseDelayMs: 100, maxDelayMs: 60_000 },
    );
    q.start();
    q.add('a');
    const started = Date.now();
    while (Date.now() - started < 2500) {
      q.add('b');
      await tick(20);
    }
    await q.shutdown();
    // Backoff 0, 0.1, 0.3, 0.7, 1.5 s (and an event at most once a second): without the floor, an event during
    // each failure retried at once — thousands of attempts, each an API call.
    expect(failing).toBeGreaterThanOrEqual(4);
    expect(failing).toBeLessThanOrEqual(7);
    expect(healthy).toBeGreaterThanOrEqual(60);
  });
});
