// A local OTLP/HTTP JSON receiver for tests: a node:http server that takes POST /v1/traces as a collector
// does and keeps the spans, decoded to plain values. It can answer slowly or with an error, to stand in for
// a collector in trouble.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type Value = string | number | boolean;

export interface ReceivedSpan {
  resource: Record<string, Value>;
  scope: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, Value>;
  events: { name: string }[];
  status: { code: number; message?: string };
}

interface KeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
}

function decode(kvs: KeyValue[] | undefined): Record<string, Value> {
  const out: Record<string, Value> = {};
  for (const { key, value: v } of kvs ?? []) {
    if (v.stringValue !== undefined) out[key] = v.stringValue;
    else if (v.intValue !== undefined) out[key] = Number(v.intValue);
    else if (v.doubleValue !== undefined) out[key] = v.doubleValue;
    else if (v.boolValue !== undefined) out[key] = v.boolValue;
  }
  return out;
}

interface ExportRequest {
  resourceSpans: {
    resource: { attributes: KeyValue[] };
    scopeSpans: {
      scope: { name: string };
      spans: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        startTimeUnixNano: string;
        endTimeUnixNano: string;
        attributes: KeyValue[];
        events: { name: string }[];
        status: { code: number; message?: string };
      }[];
    }[];
  }[];
}

export interface OtlpReceiver {
  url: string;
  spans: ReceivedSpan[];
  /** Export requests received, answered or not. */
  requests: number;
  /** How the next requests are answered: a status, after a delay. */
  behave(b: { status?: number; delayMs?: number }): void;
  /** Resolves with the spans once `predicate` holds of them; rejects after `timeoutMs`. */
  waitFor(predicate: (spans: ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<ReceivedSpan[]>;
  close(): Promise<void>;
}

function received(body: ExportRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans) {
    const resource = decode(rs.resource.attributes);
    for (const ss of rs.scopeSpans)
      for (const s of ss.spans)
        out.push({
          resource,
          scope: ss.scope.name,
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId,
          name: s.name,
          kind: s.kind,
          startNs: BigInt(s.startTimeUnixNano),
          endNs: BigInt(s.endTimeUnixNano),
          attributes: decode(s.attributes),
          events: s.events,
          status: s.status,
        });
  }
  return out;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let behaviour: { status?: number; delayMs?: number } = {};
  const pending = new Set<NodeJS.Timeout>();
  const r: Omit<OtlpReceiver, 'url'> & { url: string } = {
    url: '',
    spans: [],
    requests: 0,
    behave: (b) => {
      behaviour = b;
    },
    waitFor: async (predicate, timeoutMs = 5000) => {
      const until = Date.now() + timeoutMs;
      while (!predicate(r.spans)) {
        if (Date.now() > until)
          throw new Error(`no such spans within ${timeoutMs}ms; have ${r.spans.length}`);
        await new Promise((res) => setTimeout(res, 20));
      }
      return r.spans;
    },
    close: () =>
      new Promise<void>((res) => {
        for (const t of pending) clearTimeout(t);
        server.close(() => res());
        server.closeAllConnections();
      }),
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      r.requests++;
      const { status = 200, delayMs = 0 } = behaviour;
      const t = setTimeout(() => {
        pending.delete(t);
        if (req.url === '/v1/traces' && req.method === 'POST' && status === 200) {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as ExportRequest;
          r.spans.push(...received(body));
        }
        if (res.destroyed) return;
        res.writeHead(req.url === '/v1/traces' ? status : 404, { 'content-type': 'application/json' });
        res.end('{}');
      }, delayMs);
      pending.add(t);
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', () => res()));
  r.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  server.keepAliveTimeout = 1000;
  return r;
}
