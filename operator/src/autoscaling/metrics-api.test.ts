// The external metrics API over real HTTPS, with the certificates of a local control plane: the front
// proxy's client certificate is let in, an admin certificate (same CA, another name) and a caller without a
// certificate are refused; discovery and metric values have the shapes the aggregator and the HPA read.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { generateCerts, servingCertificate, type ControlPlaneCerts } from '../../../cluster/certs.js';
import {
  matches,
  parseLabelSelector,
  quantity,
  startMetricsApi,
  type ExternalMetricSource,
  type MetricsApi,
  type MetricsApiTrust,
} from './metrics-api.js';

let certs: ControlPlaneCerts;
let api: MetricsApi;
let original: MetricsApiTrust;
let base: string;
const refusals: string[] = [];

const source: ExternalMetricSource = {
  names: () => ['beastmode_gateway_inflight'],
  values: (ns, metric, selector) => {
    if (metric !== 'beastmode_gateway_inflight') return undefined;
    const all = [
      { labels: { gateway: 'main' }, value: 12.5, timestamp: new Date('2026-01-01T00:00:00.123Z') },
      { labels: { gateway: 'other' }, value: 3, timestamp: new Date('2026-01-01T00:00:00Z') },
    ];
    return ns === 'llm' ? all.filter((v) => matches(v.labels, selector)) : [];
  },
};

function agentWith(cert?: string, key?: string): Agent {
  return new Agent({
    connect: {
      ca: readFileSync(certs.caCert),
      ...(cert !== undefined && key !== undefined
        ? { cert: readFileSync(cert), key: readFileSync(key) }
        : {}),
    },
  });
}

async function get(path: string, agent: Agent): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await request(`${base}${path}`, { dispatcher: agent });
  return { status: r.statusCode, body: (await r.body.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'bm-metrics-api-'));
  certs = await generateCerts(dir);
  original = {
    cert: readFileSync(certs.serverCert),
    key: readFileSync(certs.serverKey),
    clientCa: readFileSync(certs.caCert),
    allowedNames: ['front-proxy-client'],
  };
  api = await startMetricsApi({
    port: 0,
    host: '127.0.0.1',
    ...original,
    source,
    onRefused: (why) => refusals.push(why),
  });
  base = `https://127.0.0.1:${api.port}`;
}, 30_000);

afterAll(() => api.server.close());

describe('the external metrics API', () => {
  test('answers the front proxy with discovery the aggregator reads', async () => {
    const proxy = agentWith(certs.proxyClientCert, certs.proxyClientKey);
    const list = await get('/apis/external.metrics.k8s.io/v1beta1', proxy);
    expect(list.status).toBe(200);
    expect(list.body).toMatchObject({
      kind: 'APIResourceList',
      groupVersion: 'external.metrics.k8s.io/v1beta1',
      resources: [{ name: 'beastmode_gateway_inflight', namespaced: true, verbs: ['get'] }],
    });
    expect((await get('/apis', proxy)).body).toMatchObject({ kind: 'APIGroupList' });
  });

  test('serves the values matching a label selector, as quantities', async () => {
    const proxy = agentWith(certs.proxyClientCert, certs.proxyClientKey);
    const r = await get(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/llm/beastmode_gateway_inflight?labelSelector=gateway%3Dmain',
      proxy,
    );
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      kind: 'ExternalMetricValueList',
      apiVersion: 'external.metrics.k8s.io/v1beta1',
      metadata: {},
      items: [
        {
          metricName: 'beastmode_gateway_inflight',
          metricLabels: { gateway: 'main' },
          timestamp: '2026-01-01T00:00:00Z',
          value: '12500m',
        },
      ],
    });
  });

  test('answers 404 for an unknown metric and 400 for a set-based selector', async () => {
    const proxy = agentWith(certs.proxyClientCert, certs.proxyClientKey);
    const unknown = await get('/apis/external.metrics.k8s.io/v1beta1/namespaces/llm/nope', proxy);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ kind: 'Status', reason: 'NotFound' });
    const setBased = await get(
      '/apis/external.metrics.k8s.io/v1beta1/namespaces/llm/beastmode_gateway_inflight?labelSelector=gateway%20in%20(main)',
      proxy,
    );
    expect(setBased.status).toBe(400);
  });

  test('refuses callers other than the front proxy', async () => {
    const admin = await get(
      '/apis/external.metrics.k8s.io/v1beta1',
      agentWith(certs.adminCert, certs.adminKey),
    );
    expect(admin.status).toBe(401);
    const anonymous = await get('/apis/external.metrics.k8s.io/v1beta1', agentWith());
    expect(anonymous.status).toBe(401);
    expect(refusals.some((r) => r.includes('not an allowed front-proxy name'))).toBe(true);
    expect(refusals.some((r) => r.includes('not verified'))).toBe(true);
  });

  test('serves a renewed certificate and the front proxy’s new names to new connections', async () => {
    const path = '/apis/external.metrics.k8s.io/v1beta1';
    const renewed = await servingCertificate(mkdtempSync(join(tmpdir(), 'bm-renewed-')), ['localhost']);
    const proxyCreds = {
      cert: readFileSync(certs.proxyClientCert),
      key: readFileSync(certs.proxyClientKey),
    };
    const trustingRenewed = new Agent({
      connect: { ca: readFileSync(renewed.caCert), servername: 'localhost', ...proxyCreds },
    });
    try {
      api.update({ ...original, cert: readFileSync(renewed.cert), key: readFileSync(renewed.key) });
      expect((await get(path, trustingRenewed)).status).toBe(200);
      // A caller trusting only the old CA no longer completes the handshake.
      await expect(get(path, agentWith(certs.proxyClientCert, certs.proxyClientKey))).rejects.toThrow();
      // The cluster names another front proxy: the old one is refused.
      api.update({
        ...original,
        cert: readFileSync(renewed.cert),
        key: readFileSync(renewed.key),
        allowedNames: ['another-front-proxy'],
      });
      expect((await get(path, trustingRenewed)).status).toBe(401);
    } finally {
      api.update(original);
      await trustingRenewed.close();
    }
    expect((await get(path, agentWith(certs.proxyClientCert, certs.proxyClientKey))).status).toBe(200);
  });
});

describe('selectors and quantities', () => {
  test('parse equality-based selectors only', () => {
    expect(parseLabelSelector('a=b,c==d, e != f')).toEqual([
      { key: 'a', op: '=', value: 'b' },
      { key: 'c', op: '=', value: 'd' },
      { key: 'e', op: '!=', value: 'f' },
    ]);
    expect(parseLabelSelector(null)).toEqual([]);
    expect(parseLabelSelector('a in (b)')).toBeUndefined();
  });

  test('write whole numbers plainly and fractions in milli-units', () => {
    expect(quantity(3)).toBe('3');
    expect(quantity(0.25)).toBe('250m');
    expect(quantity(12.5)).toBe('12500m');
  });
});
