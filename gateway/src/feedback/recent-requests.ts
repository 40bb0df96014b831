// Which route, backend and variant served each recent request, by request id, in a bounded LRU: the
// feedback endpoint attributes a user's score to the variant that produced the answer, and only takes it
// from the caller who made the request.

export interface ServedRecord {
  namespace: string;
  route: string;
  model: string;
  backend: string;
  variant: 'stable' | 'canary';
  /** The caller's key name ("anonymous" without auth), for feedback authorisation. */
  caller: string;
}

/** A bounded least-recently-used map from request id to who served it. */
export class RecentRequests {
  private readonly map = new Map<string, ServedRecord>();
  /** Asks the other workers of the pod, when this process is one of several. */
  elsewhere: ((requestId: string) => Promise<ServedRecord | undefined>) | undefined;

  constructor(readonly capacity = 100_000) {}

  record(requestId: string, served: ServedRecord): void {
    this.map.delete(requestId);
    this.map.set(requestId, served);
    if (this.map.size > this.capacity) {
      const oldest = this.map.keys().next();
      if (oldest.done !== true) this.map.delete(oldest.value);
    }
  }

  get(requestId: string): ServedRecord | undefined {
    const v = this.map.get(requestId);
    if (v !== undefined) {
      this.map.delete(requestId);
      this.map.set(requestId, v);
    }
    return v;
  }

  /** Here first, then on the pod's other workers. */
  async find(requestId: string): Promise<ServedRecord | undefined> {
    return this.get(requestId) ?? (await this.elsewhere?.(requestId));
  }

  get size(): number {
    return this.map.size;
  }
}
