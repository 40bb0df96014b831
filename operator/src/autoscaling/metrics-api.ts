// The operator's external metrics API (external.metrics.k8s.io/v1beta1), served over HTTPS to the
// kube-apiserver's aggregation layer, so that the cluster's own HPA controller can scale on what the gateways
// see (in-flight requests, request rate, time to first token, a forecast). Only the aggregator may call it:
// a request must present a client certificate signed by the cluster's request-header CA (and, when the
// cluster names them, one of its allowed names), which the kube-apiserver sends after it has authenticated
// and authorised the caller itself.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';

export const EXTERNAL_METRICS_GROUP = 'external.metrics.k8s.io';
export const EXTERNAL_METRICS_VERSION = 'v1beta1';
const GROUP_VERSION = `${EXTERNAL_METRICS_GROUP}/${EXTERNAL_METRICS_VERSION}`;
const BASE = `/apis/${GROUP_VERSION}`;

export interface ExternalValue {
  labels: Record<string, string>;
  value: number;
  timestamp: Date;
}

/** Where the values come from: the operator's scrapes of its gateways (signals.ts). */
export interface ExternalMetricSource {
  /** The metrics served (for discovery). */
  names(): string[];
  /** The values of `metric` in `namespace` whose labels match the selector; undefined for an unknown metric. */
  values(namespace: string, metric: string, selector: LabelRequirement[]): ExternalValue[] | undefined;
}

export interface LabelRequirement {
  key: string;
  op: '=' | '!=';
  value: string;
}

/** Parses an equality-based label selector ("a=b,c!=d"); undefined when it is not one. */
export function parseLabelSelector(text: string | null): LabelRequirement[] | undefined {
  if (text === null || text.trim() === '') return [];
  const out: LabelRequirement[] = [];
  for (const part of text.split(',')) {
    const m = /^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$/.exec(part);
    if (m === null) return undefined;
    out.push({ key: m[1] as string, op: m[2] === '!=' ? '!=' : '=', value: m[3] as string });
  }
  return out;
}

export function matches(labels: Record<string, string>, selector: LabelRequirement[]): boolean {
  return selector.every((r) => (labels[r.key] === r.value) === (r.op === '='));
}

/** A Kubernetes quantity: whole numbers as they are, fractions in milli-units ("1500m"). */
export function quantity(v: number): string {
  const milli = Math.round(v * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const status = (code: number, reason: string, message: string) => ({
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message,
  reason,
  code,
});

/** Discovery documents: what the aggregator asks for before it routes any request here. */
function discovery(path: string, source: ExternalMetricSource): unknown {
  const version = { groupVersion: GROUP_VERSION, version: EXTERNAL_METRICS_VERSION };
  const group = { name: EXTERNAL_METRICS_GROUP, versions: [version], preferredVersion: version };
  switch (path) {
    case '/apis':
      return { kind: 'APIGroupList', apiVersion: 'v1', groups: [group] };
    case `/apis/${EXTERNAL_METRICS_GROUP}`:
      return { kind: 'APIGroup', apiVersion: 'v1', ...group };
    case BASE:
      return {
        kind: 'APIResourceList',
        apiVersion: 'v1',
        groupVersion: GROUP_VERSION,
        resources: source.names().map((name) => ({
          name,
          singularName: '',
          namespaced: true,
          kind: 'ExternalMetricValueList',
          verbs: ['get'],
        })),
      };
    case '/openapi/v2':
      return {
        swagger: '2.0',
        info: { title: 'Beast Mode external metrics', version: 'v1beta1' },
        paths: {},
      };
    case '/openapi/v3':
      return { paths: {} };
    default:
      return undefined;
  }
}

/** One GET of a metric: /apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>?labelSelector=… */
function metricValues(url: URL, source: ExternalMetricSource): { status: number; body: unknown } {
  const m = new RegExp(`^${BASE}/namespaces/([a-z0-9-]+)/([A-Za-z0-9_:.-]+)$`).exec(url.pathname);
  if (m === null) return { status: 404, body: status(404, 'NotFound', `no such path ${url.pathname}`) };
  const selector = parseLabelSelector(url.searchParams.get('labelSelector'));
  if (selector === undefined) {
    return {
      status: 400,
      body: status(400, 'BadRequest', 'only equality-based label selectors (a=b,c!=d) are served'),
    };
  }
  const values = source.values(m[1] as string, m[2] as string, selector);
  if (values === undefined)
    return { status: 404, body: status(404, 'NotFound', `no external metric ${m[2]}`) };
  return {
    status: 200,
    body: {
      kind: 'ExternalMetricValueList',
      apiVersion: GROUP_VERSION,
      metadata: {},
      items: values.map((v) => ({
        metricName: m[2],
        metricLabels: v.labels,
        timestamp: v.timestamp.toISOString().replace(/\.\d{3}Z$/, 'Z'),
        value: quantity(v.value),
      })),
    },
  };
}

export interface MetricsApiOptions {
  port: number;
  host?: string;
  /** PEM serving certificate and key (the APIService's caBundle signs it). */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA of the kube-apiserver's front-proxy client certificates (requestheader-client-ca-file). */
  clientCa: string | Buffer;
  /** Common names the front proxy's certificate may have (requestheader-allowed-names); empty: any. */
  allowedNames: string[];
  source: ExternalMetricSource;
  /** Called for refused callers (for a log line). */
  onRefused?: (why: string) => void;
}

/** Whether the connection presented a client certificate from the front-proxy CA with an allowed name. */
function callerAllowed(req: IncomingMessage, allowedNames: string[]): string | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized)
    return `client certificate not verified: ${String(socket.authorizationError ?? 'none sent')}`;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  if (allowedNames.length > 0 && (name === undefined || !allowedNames.includes(name))) {
    return `client certificate ${String(name)} is not an allowed front-proxy name`;
  }
  return undefined;
}

/** What may change while the API serves: a renewed certificate, a rotated front-proxy CA. */
export type MetricsApiTrust = Pick<MetricsApiOptions, 'cert' | 'key' | 'clientCa' | 'allowedNames'>;

export interface MetricsApi {
  server: Server;
  port: number;
  /** New connections use these; connections already open keep theirs. */
  update(t: MetricsApiTrust): void;
}

export async function startMetricsApi(o: MetricsApiOptions): Promise<MetricsApi> {
  let allowedNames = o.allowedNames;
  const server = createServer(
    { cert: o.cert, key: o.key, ca: o.clientCa, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://metrics');
      if (url.pathname === '/healthz' || url.pathname === '/readyz' || url.pathname === '/livez') {
        return send(res, 200, { status: 'ok' });
      }
      const refused = callerAllowed(req, allowedNames);
      if (refused !== undefined) {
        o.onRefused?.(refused);
        return send(res, 401, status(401, 'Unauthorized', refused));
      }
      if (req.method !== 'GET') return send(res, 405, status(405, 'MethodNotAllowed', 'only GET is served'));
      const doc = discovery(url.pathname, o.source);
      if (doc !== undefined) return send(res, 200, doc);
      const r = metricValues(url, o.source);
      return send(res, r.status, r.body);
    },
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host ?? '0.0.0.0', () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    update: (t) => {
      server.setSecureContext({ cert: t.cert, key: t.key, ca: t.clientCa });
      allowedNames = t.allowedNames;
    },
  };
}
