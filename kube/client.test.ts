// The client's own behaviour against a fake API server: plain-text endpoints, the request timeout, Status
// answers turned into errors that say what failed, and the kubeconfig's namespace.
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  sendJson,
  sendStatus,
  startFakeApiServer,
  type FakeApiHandler,
  type FakeApiServer,
} from '../testkit/fake-apiserver.js';
import { isNotFound, KubeClient, type KubeClientOptions } from './client.js';
import { R } from './resources.js';

const servers: FakeApiServer[] = [];

afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function clientOf(handle: FakeApiHandler, options: KubeClientOptions = {}): Promise<KubeClient> {
  const server = await startFakeApiServer(handle);
  servers.push(server);
  return KubeClient.fromFile(server.kubeconfig, options);
}

describe('KubeClient', () => {
  it('reads plain-text endpoints such as /readyz', async () => {
    const client = await clientOf((url, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(url.pathname === '/readyz' ? 'ok' : 'no');
    });
    expect(await client.getText('/readyz')).toBe('ok');
  });

  it('gives up on a silent server after requestTimeoutMs, saying which request', async () => {
    const client = await clientOf(() => undefined, { requestTimeoutMs: 50 });
    await expect(client.get(R.Node, '', 'n')).rejects.toMatchObject({
      name: 'TimeoutError',
      message: 'GET /api/v1/nodes/n: no answer within 50ms',
    });
  });

  it('turns a Status answer into a KubeApiError with its reason and message', async () => {
    const client = await clientOf((_url, res) => sendStatus(res, 404, 'NotFound', 'canaries "x" not found'));
    const err = await client.get(R.Canary, 'llm', 'x').catch((e: unknown) => e);
    expect(isNotFound(err)).toBe(true);
    expect(err).toMatchObject({
      reason: 'NotFound',
      message: 'GET /apis/beastmode.dev/v1alpha1/namespaces/llm/canaries/x: 404 canaries "x" not found',
    });
  });

  it('sends merge patches as such, and knows the kubeconfig context namespace', async () => {
    const seen: string[] = [];
    const client = await clientOf((url, res, req) => {
      seen.push(`${req.method} ${url.pathname} ${req.headers['content-type']}`);
      sendJson(res, { metadata: { name: 'n' } });
    });
    await client.mergePatch(R.Node, '', 'n', { spec: { taints: null } });
    expect(seen).toEqual(['PATCH /api/v1/nodes/n application/merge-patch+json']);
    expect(await client.namespace()).toBe('llm');
  });
});
