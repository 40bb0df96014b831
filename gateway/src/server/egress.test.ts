// The egress policy against server-side request forgery: which addresses are internal in every spelling,
// what the ModelGateway's allow-list opens, and, over real HTTP, that a route pointing at a refused address
// costs no connection there (it falls over to an allowed backend), that redirects are not followed, that
// narrowing the list closes kept-alive connections, that embeddings servers are held to the same policy,
// and that a backend pointing at the gateway itself is refused with 508 instead of looping.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { finishGatewayConfig, METRICS, type GatewayConfig } from '../../../api/v1alpha1/index.js';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { silent, TestServers } from '../../../testkit/http-servers.js';
import { freePort } from '../../../cluster/control-plane.js';
import { fetchEmbeddings } from '../routing/embeddings-client.js';
import { checkedAddress, EgressPolicy, EgressRefused, nonPublicReason } from './egress.js';
import { startGateway } from './gateway.js';
import { MAX_GATEWAY_HOPS } from './loops.js';
import { UpstreamPools } from './pools.js';

describe('which addresses are internal', () => {
  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['::ffff:192.168.1.1', 'private'],
    ['fd00:ec2::254', 'private'],
    ['fc00::1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.127.255.254', 'cgnat'],
    ['169.254.169.254', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['::127.0.0.1', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['192.0.0.170', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['64:ff9b::7f00:1', 'ipv6-transition'],
    ['2002:7f00:1::', 'ipv6-transition'],
  ])('%s is %s', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });

  test.each([
    '8.8.8.8',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '11.0.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
  ])('%s is public', (address) => {
    expect(nonPublicReason(address)).toBeUndefined();
  });

  test('every spelling of an IP literal in a backend URL is normalised before the check', () => {
    const hostOf = (url: string) => new URL(url).hostname;
    for (const url of [
      'http://2130706433/',
      'http://0x7f000001/',
      'http://0177.0.0.1/',
      'http://0x7f.1/',
      'http://127.1/',
      'http://127.0.0.1./',
    ])
      expect(hostOf(url).replace(/\.$/, '')).toBe('127.0.0.1');
    expect(hostOf('http://[::ffff:127.0.0.1]/')).toBe('[::ffff:7f00:1]');
    expect(hostOf('http://[0:0:0:0:0:ffff:7f00:0001]/')).toBe('[::ffff:7f00:1]');
    expect(hostOf('http://169.254.43518/')).toBe('169.254.169.254');
  });
});

describe('the allow-list', () => {
  const policy = new EgressPolicy([
    '10.96.0.0/12',
    'fd00::/8',
    'vllm.models.svc.cluster.local',
    '*.inference.svc.cluster.local',
  ]);

  test('a CIDR opens exactly its range', () => {
    expect(policy.refusal('10.96.0.10', '10.96.0.10')).toBeUndefined();
    expect(policy.refusal('10.112.0.1', '10.112.0.1')).toBe('private');
    expect(policy.refusal('x', 'fd00::5')).toBeUndefined();
    expect(policy.refusal('x', 'fc00::5')).toBe('private');
  });

  test('a host name opens internal addresses for that name (or its subdomains) only, never link-local', () => {
    expect(policy.refusal('vllm.models.svc.cluster.local', '10.0.0.7')).toBeUndefined();
    expect(policy.refusal('VLLM.models.svc.cluster.local.', '10.0.0.7')).toBeUndefined();
    expect(policy.refusal('other.models.svc.cluster.local', '10.0.0.7')).toBe('private');
    expect(policy.refusal('tgi.inference.svc.cluster.local', '10.0.0.8')).toBeUndefined();
    expect(policy.refusal('inference.svc.cluster.local', '10.0.0.8')).toBe('private');
    expect(policy.refusal('evilinference.svc.cluster.local', '10.0.0.8')).toBe('private');
    expect(policy.refusal('vllm.models.svc.cluster.local', '169.254.169.254')).toBe('link-local');
    expect(policy.refusal('vllm.models.svc.cluster.local', '0.0.0.0')).toBe('unspecified');
    // An IP literal is not a name: only a CIDR opens it.
    expect(new EgressPolicy(['127.0.0.1']).refusal('127.0.0.1', '127.0.0.1')).toBe('loopback');
  });

  test('public addresses need no entry', () => {
    expect(new EgressPolicy([]).refusal('api.openai.com', '104.18.7.192')).toBeUndefined();
  });

  test('an entry that is not a CIDR is refused when the policy is built', () => {
    expect(() => new EgressPolicy(['10.0.0.0/40'])).toThrow(/not a valid CIDR/);
    expect(() => new EgressPolicy(['300.0.0.0/8'])).toThrow(/not a valid CIDR/);
  });

  test('a name is refused when any address it resolves to is refused (no mixing public and internal)', async () => {
    const guard = (addresses: string[]) => ({
      policy: () => new EgressPolicy([]),
      lookup: () =>
        Promise.resolve(addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }))),
    });
    await expect(checkedAddress(guard(['104.18.7.192']), 'api.example.com')).resolves.toBe('104.18.7.192');
    await expect(
      checkedAddress(guard(['104.18.7.192', '10.0.0.1']), 'rebind.example.com'),
    ).rejects.toBeInstanceOf(EgressRefused);
    await expect(checkedAddress(guard(['::ffff:169.254.169.254']), 'meta.example.com')).rejects.toThrow(
      /refuses link-local addresses/,
    );
  });

  test('a name resolving to loopback through the system resolver is refused', async () => {
    await expect(checkedAddress({ policy: () => new EgressPolicy([]) }, 'localhost')).rejects.toThrow(
      /refuses loopback addresses/,
    );
  });
});

/** The same config with another egress allow-list (none: public addresses only). */
function withEgress(config: GatewayConfig, allow: string[] | undefined): GatewayConfig {
  const { apiVersion: _a, kind: _k, revision: _r, egress: _e, ...draft } = config;
  return finishGatewayConfig({ ...draft, ...(allow !== undefined ? { egress: { allow } } : {}) });
}

const chat = { model: 'chat', messages: [{ role: 'user' as const, content: 'hello' }] };

async function refusals(url: string, reason: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${METRICS.egressRefusals}{reason="${reason}"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

describe('over HTTP', () => {
  const servers = new TestServers();
  afterEach(() => servers.close());

  test('a backend on a refused address is never connected to; the request falls over to an allowed one', async () => {
    const sim = await servers.sim();
    const base = gatewayConfig([
      compiledRoute(
        'chat',
        [
          { name: 'internal', url: `http://127.0.0.1:${sim.port}/v1`, weight: 100 },
          { name: 'named', url: `http://localhost:${sim.port}/v1`, weight: 0 },
        ],
        { selection: { policy: 'weighted', stickiness: 'none' } },
      ),
    ]);
    // "localhost" by name only: the IP literal stays refused.
    const gw = servers.adopt(
      await startGateway({
        source: { config: withEgress(base, ['localhost']) },
        logger: silent,
        random: () => 0,
      }),
    );
    const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const r = await client.chat.completions.create(chat).withResponse();
    expect(r.response.headers.get('x-beastmode-backend')).toBe('named');
    expect(sim.stats().requests).toBe(1);
    // Refused at connect, before a byte reached the address (its retry too).
    expect(await refusals(gw.url, 'loopback')).toBeGreaterThanOrEqual(1);

    // Nothing allowed: every backend refused, a 502 that names no address.
    gw.state.store.apply(withEgress(base, undefined), 'test');
    const refused = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat),
    });
    expect(refused.status).toBe(502);
    const body = (await refused.json()) as { error: { message: string } };
    expect(body.error.message).toMatch(/egress policy refuses loopback addresses/);
    expect(body.error.message).not.toContain('127.0.0.1');
    expect(sim.stats().requests).toBe(1);
  });

  test('narrowing the allow-list closes connections kept alive under the wider one', async () => {
    const sim = await servers.sim();
    const base = gatewayConfig([compiledRoute('chat', [{ name: 'a', url: `${sim.url}/v1` }])]);
    const gw = servers.adopt(await startGateway({ source: { config: base }, logger: silent }));
    const post = () =>
      fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chat),
      });
    expect((await post()).status).toBe(200);
    gw.state.store.apply(withEgress(base, undefined), 'test');
    expect((await post()).status).toBe(502);
    expect(sim.stats().requests).toBe(1);
  });

  test('a redirect from a backend is not followed', async () => {
    const sim = await servers.sim();
    const redirector = http.createServer((_req, res) => {
      res.writeHead(307, { location: `${sim.url}/v1/chat/completions` });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    try {
      const port = (redirector.address() as AddressInfo).port;
      const gw = await servers.gateway([
        compiledRoute('chat', [{ name: 'a', url: `http://127.0.0.1:${port}/v1` }]),
      ]);
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(chat),
      });
      expect(r.status).toBe(502);
      const body = (await r.json()) as { error: { message: string } };
      expect(body.error.message).toMatch(/answered 307 .* redirects are not followed/);
      expect(r.headers.get('location')).toBeNull();
      expect(sim.stats().requests).toBe(0);
    } finally {
      await new Promise((r) => redirector.close(r));
    }
  });

  test('embeddings servers are held to the same policy, and their redirects are errors', async () => {
    const sim = await servers.sim();
    const publicOnly = new UpstreamPools({ policy: () => new EgressPolicy([]) });
    const loopback = new UpstreamPools({ policy: () => new EgressPolicy(['127.0.0.0/8']) });
    const redirector = http.createServer((_req, res) => {
      res.writeHead(307, { location: `${sim.url}/v1/embeddings` });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
    try {
      const endpoint = { url: `${sim.url}/v1`, model: 'e' };
      await expect(fetchEmbeddings(endpoint, ['hi'], 2000, publicOnly.embeddings)).rejects.toThrow(
        /cannot reach/,
      );
      expect(sim.stats().byPath['/v1/embeddings'] ?? 0).toBe(0);
      const [v] = await fetchEmbeddings(endpoint, ['hi'], 2000, loopback.embeddings);
      expect(v?.length).toBeGreaterThan(0);
      const port = (redirector.address() as AddressInfo).port;
      const redirected = { url: `http://127.0.0.1:${port}/v1`, model: 'e' };
      await expect(fetchEmbeddings(redirected, ['hi'], 2000, loopback.embeddings)).rejects.toThrow(
        /cannot reach/,
      );
      expect(sim.stats().byPath['/v1/embeddings']).toBe(1);
    } finally {
      await new Promise((r) => redirector.close(r));
      await publicOnly.close();
      await loopback.close();
    }
  });

  test('a backend pointing at the gateway itself is refused with 508 after one hop, not a storm', async () => {
    const port = await freePort();
    const gw = servers.adopt(
      await startGateway({
        port,
        source: {
          config: gatewayConfig([
            compiledRoute('chat', [{ name: 'self', url: `http://127.0.0.1:${port}/v1` }]),
          ]),
        },
        logger: silent,
      }),
    );
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(chat),
    });
    // The inner request came back and was refused; the outer one reports the upstream failure.
    expect(r.status).toBeGreaterThanOrEqual(500);
    const text = await (await fetch(`${gw.url}/metrics`)).text();
    const requests = text
      .split('\n')
      .filter((l) => l.startsWith(`${METRICS.requests}{`))
      .reduce((n, l) => n + Number(l.split(' ')[1]), 0);
    // One client request and at most one looped request per attempt (fallback maxAttempts 3 in the test route).
    expect(requests).toBeLessThanOrEqual(1 + 3);
    expect(text).toMatch(new RegExp(`${METRICS.requests}\\{[^}]*code="5xx"`));
  });

  test('a request through too many gateways is refused before anything is spent on it', async () => {
    const sim = await servers.sim();
    const gw = await servers.gateway([compiledRoute('chat', [{ name: 'a', url: `${sim.url}/v1` }])]);
    const via = Array.from(
      { length: MAX_GATEWAY_HOPS },
      (_, i) => `1.1 beastmode-${String(i).repeat(12)}`,
    ).join(', ');
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', via },
      body: JSON.stringify(chat),
    });
    expect(r.status).toBe(508);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('loop_detected');
    expect(sim.stats().requests).toBe(0);
    // A request through fewer is served, and the upstream sees the chain plus this gateway.
    const ok = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', via: '1.1 beastmode-aaaaaaaaaaaa, 1.1 some-proxy' },
      body: JSON.stringify(chat),
    });
    expect(ok.status).toBe(200);
    expect(sim.stats().last?.headers.via).toMatch(
      /^1\.1 beastmode-aaaaaaaaaaaa, 1\.1 beastmode-[0-9a-f]{12}$/,
    );
  });
});
