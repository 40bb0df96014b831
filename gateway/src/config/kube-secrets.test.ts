// The Secret resolver against a fake API server: each Secret followed by name (field selector), values
// decoded once and served from memory, a rotation applied without a restart, a deleted or forbidden Secret
// answered at once rather than after the first-sync timeout, and watches stopped for Secrets no longer used.
import { afterEach, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import {
  isWatch,
  listOf,
  openWatch,
  sendJson,
  sendStatus,
  startFakeApiServer,
  watchLine,
  type FakeApiServer,
} from '../../../testkit/fake-apiserver.js';
import { KubeClient } from '../../../kube/client.js';
import { KubernetesSecretResolver } from './kube-secrets.js';

let server: FakeApiServer | undefined;
let resolver: KubernetesSecretResolver | undefined;

afterEach(async () => {
  resolver?.stop();
  await server?.close();
});

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const secret = (name: string, rv: string, apiKey: string) => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace: 'llm', resourceVersion: rv },
  data: { apiKey: b64(apiKey) },
});

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

it('serves Secret values by name, follows rotations and deletions, and answers a forbidden Secret at once', async () => {
  const watches = new Map<string, ServerResponse>();
  const listed: string[] = [];
  server = await startFakeApiServer((url, res) => {
    expect(url.pathname).toBe('/api/v1/namespaces/llm/secrets');
    const name = (url.searchParams.get('fieldSelector') ?? '').replace(/^metadata\.name=/, '');
    if (name === 'locked') return sendStatus(res, 403, 'Forbidden', 'secrets "locked" is forbidden');
    if (isWatch(url)) return void watches.set(name, openWatch(res));
    listed.push(name);
    sendJson(res, listOf('Secret', '7', name === 'creds' ? [secret('creds', '7', 'sk-1\n')] : []));
  });
  const logs: string[] = [];
  resolver = new KubernetesSecretResolver({
    client: KubeClient.fromFile(server.kubeconfig),
    log: (_level, msg, fields) => logs.push(`${msg} ${String(fields.name)}`),
  });
  const ref = { namespace: 'llm', name: 'creds', key: 'apiKey' };

  // The first request waits for the first list; the trailing newline of `--from-file` is dropped.
  expect(await resolver.resolve(ref)).toBe('sk-1');
  expect(await resolver.resolve({ ...ref, key: 'other' })).toBeUndefined();
  const t0 = Date.now();
  expect(await resolver.resolve({ ...ref, name: 'locked' })).toBeUndefined();
  expect(await resolver.resolve({ ...ref, name: 'missing' })).toBeUndefined();
  expect(Date.now() - t0).toBeLessThan(1000);

  await until(() => watches.has('creds'));
  watches.get('creds')?.write(watchLine('MODIFIED', secret('creds', '8', 'sk-2')));
  await until(() => logs.includes('Secret changed creds'));
  expect(await resolver.resolve(ref)).toBe('sk-2');
  watches.get('creds')?.write(watchLine('DELETED', secret('creds', '9', 'sk-2')));
  await until(
    () => logs.filter((l) => l === 'Secret not found, its credentials are unavailable creds').length === 1,
  );
  expect(await resolver.resolve(ref)).toBeUndefined();
  expect(logs).toContain('Secret not found, its credentials are unavailable missing');
  expect(logs.some((l) => l.startsWith('Secret watch failed, retrying locked'))).toBe(true);

  // Only the Secrets a config still references stay watched.
  resolver.retain([{ namespace: 'llm', name: 'missing' }]);
  expect(logs).toContain('Stopped watching Secret creds');
  expect(logs).toContain('Stopped watching Secret locked');
  expect(listed.filter((n) => n === 'creds')).toHaveLength(1);
});
