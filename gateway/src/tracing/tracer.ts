// Whether and where the gateway traces requests, and the span of each request being traced. The settings
// come from the GatewayConfig's `tracing` when it has one, else from the flags and OTEL_* variables of a
// standalone gateway; every applied config re-reads them, so a reload turns tracing on, off or elsewhere
// without a restart (a refused config changes nothing: the store keeps the last good one).
// Off, a request costs one branch: no span, no id, no clock read. Sampling is parent-based: a client's
// traceparent decides by its sampled flag, else `sampleRatio` does.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import client from 'prom-client';
import type { CompiledTracing, GatewayConfig } from '../../../api/v1alpha1/index.js';
import { METRICS } from '../../../api/v1alpha1/index.js';
import type { Logger } from '../log.js';
import type { GatewayError } from '../server/errors.js';
import { OtlpExporter, type ExporterCounters, type ExporterOptions } from './exporter.js';
import type { Attributes } from './otlp.js';
import { RequestSpan } from './request-span.js';
import { newTraceId, parseTraceparent } from './trace-context.js';

/** A standalone gateway's tracing, from --otlp-endpoint and OTEL_* variables (main.ts). */
export type TracingSettings = CompiledTracing;

/** What a gateway's owner says of tracing beside its config (main.ts, tests). */
export interface TracingOptions {
  /** Used while the config has no `tracing` (standalone gateways); absent: off. */
  defaults?: TracingSettings | undefined;
  /** k8s.namespace.name and k8s.pod.name, when the gateway runs in a pod. */
  pod?: { namespace?: string | undefined; name?: string | undefined } | undefined;
  random?: () => number;
  /** Milliseconds since the epoch, fractional. */
  now?: () => number;
  /** Batching of the exporter (tests shorten the interval). */
  exporter?: Pick<ExporterOptions, 'batchSize' | 'maxQueue' | 'intervalMs' | 'timeoutMs'>;
}

export interface TracerOptions extends TracingOptions {
  registry: client.Registry;
  log: Logger;
}

const SCOPE = { name: 'beastmode-gateway', version: '0.1.0' };
const highResNow = (): number => performance.timeOrigin + performance.now();

function exporterCounters(registry: client.Registry): ExporterCounters {
  const dropped = new client.Counter({
    name: METRICS.traceSpansDropped,
    help: 'Spans not exported: the queue was full (queue-full) or the collector failed or timed out (export-failed)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const exported = new client.Counter({
    name: METRICS.traceSpansExported,
    help: 'Spans the collector accepted',
    registers: [registry],
  });
  return { exported: (n) => exported.inc(n), dropped: (reason, n) => dropped.inc({ reason }, n) };
}

export class Tracer {
  private settings: TracingSettings | undefined;
  private exporter: OtlpExporter | undefined;
  private readonly spans = new WeakMap<ServerResponse, RequestSpan>();
  private readonly counters: ExporterCounters;
  private readonly instanceId = randomUUID();
  private readonly random: () => number;
  private readonly now: () => number;
  private readonly sink = (s: Parameters<OtlpExporter['add']>[0]): void => this.exporter?.add(s);
  /** Whether requests are sampled at all: the one branch a request pays while tracing is off. */
  private on = false;

  constructor(private readonly opts: TracerOptions) {
    this.counters = exporterCounters(opts.registry);
    this.random = opts.random ?? Math.random;
    this.now = opts.now ?? highResNow;
    this.configure(opts.defaults);
  }

  /** A config was applied: its tracing, else the standalone defaults. */
  apply(config: GatewayConfig): void {
    this.configure(config.tracing ?? this.opts.defaults);
  }

  /** Starts the request's span when tracing is on and the request is sampled; it ends when `res` closes. */
  begin(req: IncomingMessage, res: ServerResponse, requestId: string): void {
    if (!this.on) return;
    const parent = parseTraceparent(req.headers.traceparent);
    const sampled = parent !== undefined ? parent.sampled : this.random() < (this.settings?.sampleRatio ?? 0);
    if (!sampled) return;
    const span = new RequestSpan(
      this.sink,
      this.now,
      req,
      parent,
      parent?.traceId ?? newTraceId(),
      requestId,
    );
    this.spans.set(res, span);
    res.once('close', () => span.end(res));
  }

  /** The request's span, when it is traced. */
  spanOf(res: ServerResponse): RequestSpan | undefined {
    return this.on ? this.spans.get(res) : undefined;
  }

  refused(res: ServerResponse, e: GatewayError): void {
    if (this.on) this.spans.get(res)?.refused(e);
  }

  /** Sends what is queued; for shutdown. */
  async close(): Promise<void> {
    this.on = false;
    await this.exporter?.close();
  }

  private configure(next: TracingSettings | undefined): void {
    const prev = this.settings;
    this.settings = next;
    this.on = next !== undefined;
    if (prev?.endpoint === next?.endpoint && prev?.serviceName === next?.serviceName) return;
    const old = this.exporter;
    this.exporter = next !== undefined ? this.newExporter(next) : undefined;
    // Spans already queued for the old collector still go there.
    if (old !== undefined) void old.close();
    this.opts.log.log('info', next !== undefined ? 'Tracing requests' : 'Tracing off', {
      ...(next !== undefined ? { endpoint: next.endpoint, sampleRatio: next.sampleRatio } : {}),
    });
  }

  private newExporter(s: TracingSettings): OtlpExporter {
    const pod = this.opts.pod;
    const resource: Attributes = {
      'service.name': s.serviceName,
      'service.instance.id': this.instanceId,
      'k8s.namespace.name': pod?.namespace,
      'k8s.pod.name': pod?.name,
      'telemetry.sdk.name': 'beastmode',
      'telemetry.sdk.language': 'nodejs',
    };
    return new OtlpExporter({
      ...this.opts.exporter,
      endpoint: s.endpoint,
      resource,
      scope: SCOPE,
      counters: this.counters,
      log: this.opts.log,
    });
  }
}
