// A keyed work queue with client-go semantics: a key waits in the queue at most once (adds coalesce), a key
// being processed is never processed concurrently (an add meanwhile is deferred until it finishes), failures
// retry with per-key exponential backoff, delayed adds keep the earliest deadline, and at most
// `concurrency` keys are processed at a time. Dispatch starts only on start() (after winning the lease).
// Unlike client-go, an event for a key that failed less than `eventRetryFloorMs` ago does not retry it at
// once: it retries at that floor (or its backoff, if sooner). A permanently failing object whose own
// reconcile (or anything else) keeps producing events therefore costs at most about one attempt per second,
// instead of a loop as fast as the API server answers; a healthy key is never delayed by it.

export interface ReconcileOutcome {
  /** Process the key again after this many milliseconds (polling, a canary tick). */
  requeueAfterMs?: number;
}

export type KeyHandler = (key: string) => Promise<ReconcileOutcome | void>;

export interface WorkQueueOptions {
  name: string;
  concurrency?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  onError?: (key: string, err: unknown, failures: number) => void;
  /** Soonest an event retries a key after its failure. Default 1000 ms. */
  eventRetryFloorMs?: number;
}

export class WorkQueue {
  private readonly order: string[] = [];
  private head = 0;
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** When each failing key last failed. */
  private readonly failedAt = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly burstStart = new Map<string, number>();
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: KeyHandler,
    private readonly opts: WorkQueueOptions,
  ) {}

  get name(): string {
    return this.opts.name;
  }

  /** Keys waiting to be processed (not counting delayed ones or those in flight). */
  get depth(): number {
    return this.order.length - this.head;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.stopped) return;
    const wait = this.eventRetryWait(key);
    if (wait > 0) {
      if (this.processing.has(key)) this.dirty.add(key);
      else this.addAfter(key, wait);
      return;
    }
    this.enqueue(key);
  }

  /** Queues the key now (a due timer: a backoff, a requeue, the event floor). */
  private enqueue(key: string): void {
    if (this.stopped) return;
    const t = this.timers.get(key);
    if (t) {
      clearTimeout(t.timer);
      this.timers.delete(key);
      this.burstStart.delete(key);
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.order.push(key);
    this.pump();
  }

  /** Adds the key after a delay; a key already due sooner keeps its earlier deadline (debounce/coalesce). */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    if (this.queued.has(key)) return;
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.enqueue(key);
    }, delayMs);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /**
   * Trailing-edge debounce with a ceiling: the key is added once no new call came for `quietMs`, but no
   * later than `maxWaitMs` after the first call of the burst. One edit waits `quietMs`; a burst of
   * thousands yields one add per `maxWaitMs`.
   */
  addDebounced(key: string, quietMs: number, maxWaitMs: number): void {
    if (this.stopped || this.queued.has(key)) return;
    const now = Date.now();
    let first = this.burstStart.get(key);
    if (first === undefined) this.burstStart.set(key, (first = now));
    const at = Math.min(now + quietMs, first + maxWaitMs);
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(
      () => {
        this.timers.delete(key);
        this.burstStart.delete(key);
        this.add(key);
      },
      Math.max(0, at - now),
    );
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Adds the key after its per-key exponential backoff. */
  addRateLimited(key: string): void {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const base = this.opts.baseDelayMs ?? 100;
    const delay = Math.min(this.opts.maxDelayMs ?? 60_000, base * 2 ** (n - 1));
    this.addAfter(key, delay);
  }

  forget(key: string): void {
    this.failures.delete(key);
    this.failedAt.delete(key);
  }

  /** How long an event must wait to retry a key that failed recently (0: not failing, or long enough ago). */
  private eventRetryWait(key: string): number {
    const at = this.failedAt.get(key);
    if (at === undefined) return 0;
    return Math.max(0, at + (this.opts.eventRetryFloorMs ?? 1000) - Date.now());
  }

  start(): void {
    this.running = true;
    this.pump();
  }

  /** Stops dispatching and resolves once the keys in flight are done. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    if (this.processing.size === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when nothing is queued or in flight (delayed keys aside): for tests. */
  async drained(): Promise<void> {
    while (this.depth > 0 || this.processing.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  private pump(): void {
    const max = this.opts.concurrency ?? 4;
    while (this.running && this.processing.size < max && this.depth > 0) {
      const key = this.order[this.head++] as string;
      if (this.head > 1024 && this.head * 2 > this.order.length) {
        this.order.splice(0, this.head);
        this.head = 0;
      }
      this.queued.delete(key);
      this.processing.add(key);
      void this.process(key);
    }
  }

  private async process(key: string): Promise<void> {
    let outcome: ReconcileOutcome | void = undefined;
    let failed = false;
    try {
      outcome = await this.handler(key);
    } catch (e) {
      failed = true;
      this.failedAt.set(key, Date.now());
      this.opts.onError?.(key, e, (this.failures.get(key) ?? 0) + 1);
    }
    this.processing.delete(key);
    if (failed) this.addRateLimited(key);
    else {
      this.forget(key);
      if (outcome?.requeueAfterMs !== undefined) this.addAfter(key, outcome.requeueAfterMs);
    }
    if (this.dirty.delete(key)) this.add(key);
    if (this.processing.size === 0 && this.stopped) for (const w of this.idleWaiters.splice(0)) w();
    this.pump();
  }
}
