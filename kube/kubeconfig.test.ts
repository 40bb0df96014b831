import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { sendJson, startFakeApiServer } from '../testkit/fake-apiserver.js';
import { KubeClient } from './client.js';
import { loadInClusterAuth, loadKubeAuth, readInCluster, readKubeconfig } from './kubeconfig.js';
import { R } from './resources.js';

const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-test-'));
const b64 = (s: string): string => Buffer.from(s).toString('base64');

function kubeconfig(name: string, cluster: object, user: object): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'other', cluster: { server: 'https://wrong' } },
        { name: 'c', cluster },
      ],
      users: [{ name: 'u', user }],
      contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'ctx',
    }),
  );
  return path;
}

describe('readKubeconfig', () => {
  it('reads the current context: inline data, relative files, TLS settings', () => {
    writeFileSync(join(dir, 'client.key'), 'KEY');
    const path = kubeconfig(
      'certs.yaml',
      {
        server: 'https://127.0.0.1:6443/',
        'certificate-authority-data': b64('CA'),
        'tls-server-name': 'kubernetes',
      },
      { 'client-certificate-data': b64('CERT'), 'client-key': 'client.key' },
    );
    const c = readKubeconfig(path);
    expect(c?.server).toBe('https://127.0.0.1:6443');
    expect(c?.ca?.toString()).toBe('CA');
    expect(c?.cert?.toString()).toBe('CERT');
    expect(c?.key?.toString()).toBe('KEY');
    expect(c?.servername).toBe('kubernetes');
    expect(c).not.toHaveProperty('rejectUnauthorized');
    expect(c).not.toHaveProperty('token');
  });

  it('hands exec plugins, auth providers and proxies to client-node', () => {
    const server = { server: 'https://k:6443' };
    expect(readKubeconfig(kubeconfig('exec.yaml', server, { exec: { command: 'aws' } }))).toBeUndefined();
    expect(
      readKubeconfig(kubeconfig('ap.yaml', server, { 'auth-provider': { name: 'oidc' } })),
    ).toBeUndefined();
    expect(
      readKubeconfig(kubeconfig('proxy.yaml', { ...server, 'proxy-url': 'http://p:3128' }, {})),
    ).toBeUndefined();
    expect(loadKubeAuth(join(dir, 'exec.yaml')).source).toBe('client-node');
  });

  it('refuses plain HTTP unless TLS verification is explicitly skipped, like client-node', () => {
    expect(() => readKubeconfig(kubeconfig('http.yaml', { server: 'http://k:8080' }, {}))).toThrow(
      /HTTP protocol is not allowed/,
    );
    const c = readKubeconfig(
      kubeconfig('http-ok.yaml', { server: 'http://k:8080', 'insecure-skip-tls-verify': true }, {}),
    );
    expect(c?.rejectUnauthorized).toBe(false);
  });
});

describe('credentials', () => {
  it('sends a bearer token (the token wins over a token file), impersonation and basic auth', async () => {
    writeFileSync(join(dir, 'token'), 'from-file\n');
    const tokenAuth = loadKubeAuth(
      kubeconfig('token.yaml', { server: 'https://k' }, { token: 't0k', tokenFile: 'token', as: 'alice' }),
    );
    expect(tokenAuth.source).toBe('kubeconfig');
    expect(await tokenAuth.server()).toBe('https://k');
    const c = await tokenAuth.credentials();
    expect(c.headers).toEqual({ Authorization: 'Bearer t0k', 'Impersonate-User': 'alice' });
    expect(c.dispatcher).toBeUndefined();

    const fileAuth = loadKubeAuth(kubeconfig('tf.yaml', { server: 'https://k' }, { tokenFile: 'token' }));
    expect((await fileAuth.credentials()).headers.Authorization).toBe('Bearer from-file');
    writeFileSync(join(dir, 'token'), 'rotated\n');
    expect((await fileAuth.credentials()).headers.Authorization).toBe('Bearer rotated');

    const basic = loadKubeAuth(
      kubeconfig('basic.yaml', { server: 'https://k' }, { username: 'u', password: 'p' }),
    );
    expect((await basic.credentials()).headers.Authorization).toBe(`Basic ${b64('u:p')}`);
  });

  it('keeps one dispatcher for TLS settings', async () => {
    const auth = loadKubeAuth(
      kubeconfig('tls.yaml', { server: 'https://k', 'certificate-authority-data': b64('CA') }, {}),
    );
    const a = await auth.credentials();
    const b = await auth.credentials();
    expect(a.dispatcher).toBeDefined();
    expect(b.dispatcher).toBe(a.dispatcher);
  });
});

describe('impersonation', () => {
  /** The impersonation headers one request of a client carries, line by line as the API server reads them. */
  async function impersonationSeen(user: object): Promise<Record<string, string[]>> {
    let seen: Record<string, string[]> = {};
    const server = await startFakeApiServer((_url, res, req) => {
      seen = Object.fromEntries(
        Object.entries(req.headersDistinct)
          .filter(([k]) => k.startsWith('impersonate-'))
          .map(([k, v]) => [k, v ?? []]),
      );
      sendJson(res, { metadata: { name: 'n' } });
    });
    try {
      const { server: url } = readKubeconfig(server.kubeconfig) ?? { server: '' };
      const path = kubeconfig(
        `imp-${Math.random()}.yaml`,
        { server: url, 'insecure-skip-tls-verify': true },
        user,
      );
      await KubeClient.fromFile(path).get(R.Node, '', 'n');
      return seen;
    } finally {
      await server.close();
    }
  }

  it('acts as a ServiceAccount with Impersonate-User alone: the API server adds its groups', async () => {
    expect(await impersonationSeen({ token: 'admin', as: 'system:serviceaccount:llm:beastmode' })).toEqual({
      'impersonate-user': ['system:serviceaccount:llm:beastmode'],
    });
  });

  it('sends one Impersonate-Group line per group and one Impersonate-Extra line per value', async () => {
    const seen = await impersonationSeen({
      token: 'admin',
      as: 'jane',
      'as-uid': 'u-1',
      'as-groups': ['team-a', 'readers, writers'],
      'as-user-extra': { scopes: ['view', 'edit'], 'example.com/project': ['p1'] },
    });
    expect(seen).toEqual({
      'impersonate-user': ['jane'],
      'impersonate-uid': ['u-1'],
      'impersonate-group': ['team-a', 'readers, writers'],
      'impersonate-extra-scopes': ['view', 'edit'],
      'impersonate-extra-example.com%2fproject': ['p1'],
    });
  });

  it('refuses impersonation fields it cannot honour rather than drop them', () => {
    const server = { server: 'https://k' };
    expect(() => readKubeconfig(kubeconfig('groups-only.yaml', server, { 'as-groups': ['g'] }))).toThrow(
      /without as/,
    );
    expect(() =>
      readKubeconfig(
        kubeconfig('exec-groups.yaml', server, { exec: { command: 'x' }, as: 'a', 'as-groups': ['g'] }),
      ),
    ).toThrow(/not supported/);
  });
});

describe('readInCluster', () => {
  it('builds the server from the service environment and reads the mounted token', () => {
    const sa = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'ca.crt'), 'CA');
    const c = readInCluster({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' }, sa);
    expect(c.server).toBe('https://[fd00::1]:443');
    expect(c.ca?.toString()).toBe('CA');
    expect(c.tokenFile).toBe(join(sa, 'token'));
    expect(
      readInCluster({ KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '8080' }, sa).server,
    ).toBe('http://10.0.0.1:8080');
  });
});

describe('namespace', () => {
  it("is the current context's in a kubeconfig, the service account's in a pod", async () => {
    const path = join(dir, 'ns.yaml');
    writeFileSync(
      path,
      stringify({
        clusters: [{ name: 'c', cluster: { server: 'https://k' } }],
        users: [{ name: 'u', user: { token: 't' } }],
        contexts: [{ name: 'ctx', context: { cluster: 'c', user: 'u', namespace: 'team-a' } }],
        'current-context': 'ctx',
      }),
    );
    expect(await loadKubeAuth(path).namespace()).toBe('team-a');
    expect(
      await loadKubeAuth(kubeconfig('no-ns.yaml', { server: 'https://k' }, {})).namespace(),
    ).toBeUndefined();

    const sa = mkdtempSync(join(tmpdir(), 'sa-'));
    writeFileSync(join(sa, 'token'), 'sa-token');
    writeFileSync(join(sa, 'namespace'), 'llm\n');
    const inCluster = loadInClusterAuth({ KUBERNETES_SERVICE_HOST: '10.0.0.1' }, sa);
    expect(inCluster.source).toBe('in-cluster');
    expect(await inCluster.namespace()).toBe('llm');
    expect(await inCluster.server()).toBe('https://10.0.0.1:443');
  });
});

describe('loadInClusterAuth', () => {
  it('refuses to run outside a pod, asking for a kubeconfig', () => {
    const sa = mkdtempSync(join(tmpdir(), 'sa-'));
    expect(() => loadInClusterAuth({}, sa)).toThrow(/not running in a Kubernetes pod.*give a kubeconfig/);
    writeFileSync(join(sa, 'token'), 'sa-token');
    expect(() => loadInClusterAuth({}, sa)).toThrow(/KUBERNETES_SERVICE_HOST/);
  });
});
