// Sends finished spans to an OTLP/HTTP collector as JSON (POST <endpoint>/v1/traces): batched by size and
// interval, one request at a time, each with a timeout, from a bounded queue. It never blocks or fails a
// request: when the queue is full or an export fails, the spans are dropped and counted
// (beastmode_trace_spans_dropped_total). Its connections are its own, outside the backends' egress guard:
// the collector is named by the platform team (ModelGateway), not by the tenants who write routes.
import { Agent, request } from 'undici';
import type { Logger } from '../log.js';
import { encodeExport, type Attributes, type SpanRecord } from './otlp.js';

export type DropReason = 'queue-full' | 'export-failed';

export interface ExporterCounters {
  exported(spans: number): void;
  dropped(reason: DropReason, spans: number): void;
}

export interface ExporterOptions {
  /** The collector's base URL; spans go to <endpoint>/v1/traces. */
  endpoint: string;
  resource: Attributes;
  scope: { name: string; version: string };
  counters: ExporterCounters;
  log: Logger;
  /** Spans per export request. Default 512. */
  batchSize?: number;
  /** Spans waiting at most; more are dropped. Default 4096. */
  maxQueue?: number;
  /** How often a partial batch is sent, ms. Default 1000. */
  intervalMs?: number;
  /** How long one export may take, ms. Default 5000. */
  timeoutMs?: number;
}

/** How often a failing collector is logged at most: once a minute, not once a batch. */
const LOG_EVERY_MS = 60_000;

export class OtlpExporter {
  private queue: SpanRecord[] = [];
  private sending: Promise<void> | undefined;
  private closed = false;
  private lastLogged = -Infinity;
  private readonly url: string;
  private readonly agent = new Agent({ connections: 2, keepAliveTimeout: 10_000 });
  private readonly timer: NodeJS.Timeout;
  private readonly batchSize: number;
  private readonly maxQueue: number;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ExporterOptions) {
    this.url = `${opts.endpoint.replace(/\/+$/, '')}/v1/traces`;
    this.batchSize = opts.batchSize ?? 512;
    this.maxQueue = opts.maxQueue ?? 4096;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.timer = setInterval(() => void this.flush(), opts.intervalMs ?? 1000);
    this.timer.unref();
  }

  get endpoint(): string {
    return this.opts.endpoint;
  }

  add(span: SpanRecord): void {
    if (this.closed || this.queue.length >= this.maxQueue) {
      this.opts.counters.dropped('queue-full', 1);
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= this.batchSize && this.sending === undefined) void this.send(false);
  }

  /** Sends everything queued, a batch at a time; resolves when the queue is empty. */
  flush(): Promise<void> {
    return this.send(true);
  }

  /** Sends what is queued (within one timeout), then releases the connections. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    // An export of full batches may be out: wait for it, then send the rest.
    while (this.queue.length > 0 || this.sending !== undefined) await this.flush();
    await this.agent.close().catch(() => undefined);
  }

  /**
   * One export at a time. Full batches go as soon as they are full; a partial one waits for the interval
   * (`all`), so that a busy gateway sends a few large requests rather than one per handful of spans that
   * ended while the previous request was out. `all` sends what is queued when it starts, not what keeps
   * arriving meanwhile.
   */
  private send(all: boolean): Promise<void> {
    this.sending ??= this.drain(all).finally(() => {
      this.sending = undefined;
    });
    return this.sending;
  }

  private async drain(all: boolean): Promise<void> {
    let owed = all ? this.queue.length : 0;
    while (this.queue.length >= this.batchSize || (owed > 0 && this.queue.length > 0)) {
      const batch = this.queue.splice(0, this.batchSize);
      owed -= batch.length;
      await this.post(batch);
    }
  }

  private async post(batch: SpanRecord[]): Promise<void> {
    const { counters } = this.opts;
    try {
      const body = encodeExport(this.opts.resource, this.opts.scope, batch);
      const res = await request(this.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      await res.body.dump().catch(() => undefined);
      if (res.statusCode >= 200 && res.statusCode < 300) return counters.exported(batch.length);
      this.failed(batch.length, `the collector answered ${res.statusCode}`);
    } catch (err) {
      this.failed(batch.length, err instanceof Error ? err.message : String(err));
    }
  }

  private failed(spans: number, reason: string): void {
    this.opts.counters.dropped('export-failed', spans);
    const now = performance.now();
    if (now - this.lastLogged < LOG_EVERY_MS) return;
    this.lastLogged = now;
    // The endpoint is a URL without credentials (the schema refuses userinfo): safe to log.
    this.opts.log.log('warn', 'Trace export failed, spans dropped', {
      endpoint: this.opts.endpoint,
      spans,
      reason,
    });
  }
}
