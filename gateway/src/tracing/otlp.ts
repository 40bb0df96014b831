// The spans the gateway records, and their OTLP/HTTP JSON encoding (opentelemetry-proto's JSON mapping:
// hex trace and span ids, enum values as integers, 64-bit integers as decimal strings). Pure.

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue | undefined>;

export interface SpanEvent {
  name: string;
  timeMs: number;
  attributes?: Attributes;
}

/** A finished span, as the exporter queues it. Times are milliseconds since the epoch (fractional). */
export interface SpanRecord {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: 'server' | 'client';
  startMs: number;
  endMs: number;
  attributes: Attributes;
  events: SpanEvent[];
  status: { code: 'unset' | 'ok' | 'error'; message?: string | undefined };
}

// opentelemetry.proto.trace.v1.Span.SpanKind and Status.StatusCode.
const KIND = { server: 2, client: 3 } as const;
const STATUS = { unset: 0, ok: 1, error: 2 } as const;

/**
 * Milliseconds since the epoch as nanoseconds, a decimal string (beyond a double's exact range): whole
 * microseconds (exact in a double until the year 2255) and three zeros.
 */
export const unixNano = (ms: number): string => `${Math.round(ms * 1000)}000`;

// The export body is written as text, not built as objects for JSON.stringify: an attribute would be three
// objects, and a traced request has some forty. Strings go through JSON.stringify for their escaping.
const str = JSON.stringify;

function attributesJson(attrs: Attributes): string {
  const parts: string[] = [];
  for (const key in attrs) {
    const v = attrs[key];
    if (v === undefined) continue;
    // Keys are the gateway's own attribute names: nothing in them to escape.
    const k = `{"key":"${key}","value":`;
    if (typeof v === 'string') parts.push(`${k}{"stringValue":${str(v)}}}`);
    else if (typeof v === 'boolean') parts.push(`${k}{"boolValue":${v}}}`);
    else if (Number.isInteger(v)) parts.push(`${k}{"intValue":"${v}"}}`);
    else if (Number.isFinite(v)) parts.push(`${k}{"doubleValue":${v}}}`);
  }
  return `[${parts.join(',')}]`;
}

function spanJson(s: SpanRecord): string {
  const parent = s.parentSpanId !== undefined ? `"parentSpanId":"${s.parentSpanId}",` : '';
  const events = s.events
    .map(
      (e) =>
        `{"timeUnixNano":"${unixNano(e.timeMs)}","name":${str(e.name)},"attributes":${attributesJson(e.attributes ?? {})}}`,
    )
    .join(',');
  const message = s.status.message !== undefined ? `,"message":${str(s.status.message)}` : '';
  return (
    `{"traceId":"${s.traceId}","spanId":"${s.spanId}",${parent}"name":${str(s.name)},"kind":${KIND[s.kind]},` +
    `"startTimeUnixNano":"${unixNano(s.startMs)}","endTimeUnixNano":"${unixNano(s.endMs)}",` +
    `"attributes":${attributesJson(s.attributes)},"events":[${events}],` +
    `"status":{"code":${STATUS[s.status.code]}${message}}}`
  );
}

/** One ExportTraceServiceRequest as JSON text: the resource, the instrumentation scope, the spans. */
export function encodeExport(
  resource: Attributes,
  scope: { name: string; version: string },
  spans: readonly SpanRecord[],
): string {
  return (
    `{"resourceSpans":[{"resource":{"attributes":${attributesJson(resource)}},` +
    `"scopeSpans":[{"scope":{"name":${str(scope.name)},"version":${str(scope.version)}},` +
    `"spans":[${spans.map(spanJson).join(',')}]}]}]}`
  );
}
