// Server-sent events to the dashboard's pages. Each client first gets a snapshot, then deltas. Deltas are
// coalesced per object: a client that has not yet been written to holds at most one pending frame per key
// (the latest), so a burst of status updates costs one frame per object, and the pending set is bounded by
// the number of objects. Frames go out on the next turn of the event loop (no timer: a status change reaches
// the page in one write). A client whose socket buffer stays over the bound is slow: it is dropped (its
// EventSource reconnects and starts from a fresh snapshot) rather than buffered without end. Comment
// heartbeats keep idle connections (kubectl port-forward, proxies) open. The number of clients is capped.
import type { ServerResponse } from 'node:http';

export interface SseLimits {
  maxClients: number;
  /** Bytes the socket may hold unwritten before the client counts as slow and is dropped. */
  maxBufferedBytes: number;
  /** Pending keys per client, a second bound beside the number of objects. */
  maxPendingKeys: number;
  heartbeatMs: number;
}

export const DEFAULT_SSE_LIMITS: SseLimits = {
  maxClients: 64,
  maxBufferedBytes: 1 << 20,
  maxPendingKeys: 4096,
  heartbeatMs: 15_000,
};

/** One SSE frame: `event:` line and a JSON `data:` line (JSON has no raw newline). */
export function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

class Client {
  readonly pending = new Map<string, string>();
  private scheduled = false;
  closed = false;

  constructor(
    readonly res: ServerResponse,
    private readonly hub: SseHub,
  ) {}

  enqueue(key: string, text: string): void {
    if (this.closed) return;
    this.pending.delete(key); // re-inserted last: frames go out in the order of their latest change
    this.pending.set(key, text);
    if (this.pending.size > this.hub.limits.maxPendingKeys) return this.hub.drop(this, 'too many pending');
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    if (this.closed || this.pending.size === 0) return;
    if (this.res.writableLength > this.hub.limits.maxBufferedBytes) return this.hub.drop(this, 'slow');
    const text = [...this.pending.values()].join('');
    this.pending.clear();
    this.res.write(text);
  }
}

export class SseHub {
  private readonly clients = new Set<Client>();
  private readonly timer: NodeJS.Timeout;
  /** Clients dropped for being slow, since start (a metric for tests and logs). */
  dropped = 0;

  constructor(
    readonly limits: SseLimits = DEFAULT_SSE_LIMITS,
    private readonly onDrop: (reason: string) => void = () => undefined,
  ) {
    this.timer = setInterval(() => this.heartbeat(), limits.heartbeatMs);
    this.timer.unref();
  }

  get size(): number {
    return this.clients.size;
  }

  /**
   * Starts an event stream on `res` with `snapshot` as its first frame; false (and a 503) when the client
   * cap is reached.
   */
  attach(res: ServerResponse, snapshot: string): boolean {
    if (this.clients.size >= this.limits.maxClients) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8', 'Retry-After': '10' });
      res.end('too many dashboard clients');
      return false;
    }
    const client = new Client(res, this);
    this.clients.add(client);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      // A proxy must not hold frames back (nginx buffers by default).
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    res.write(`retry: 2000\n${snapshot}`);
    res.on('close', () => this.remove(client));
    return true;
  }

  /** A delta for every client, coalesced with a pending one of the same key. */
  publish(key: string, event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = frame(event, data);
    for (const c of this.clients) c.enqueue(key, text);
  }

  drop(c: Client, reason: string): void {
    if (c.closed) return;
    this.dropped++;
    this.onDrop(reason);
    this.remove(c);
    c.res.destroy();
  }

  private remove(c: Client): void {
    c.closed = true;
    c.pending.clear();
    this.clients.delete(c);
  }

  private heartbeat(): void {
    for (const c of this.clients) {
      if (c.res.writableLength > this.limits.maxBufferedBytes) this.drop(c, 'slow');
      else c.res.write(': heartbeat\n\n');
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const c of [...this.clients]) {
      this.remove(c);
      c.res.end();
    }
  }
}
