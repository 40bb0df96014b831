// The ConfigMap source against a small fake API server speaking the list and watch protocol: list, watch
// from the list's resourceVersion, apply MODIFIED events, relist after 410 Gone.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { watchConfigMap } from './configmap.js';
import { ConfigStore } from './store.js';

const configFor = (model: string) =>
  gatewayConfig([compiledRoute(model, [{ name: 'a', url: 'http://a/v1' }])]);
const cm = (model: string, rv: string) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'gw', namespace: 'llm', resourceVersion: rv },
  data: { 'config.json': JSON.stringify(configFor(model)) },
});

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('follows its ConfigMap through list and watch, and relists after 410 Gone', async () => {
  let listed = 'first';
  const lists: string[] = [];
  const watches: http.ServerResponse[] = [];
  const api = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    expect(url.pathname).toBe('/api/v1/namespaces/llm/configmaps');
    expect(url.searchParams.get('fieldSelector')).toBe('metadata.name=gw');
    if (url.searchParams.get('watch') === 'true') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.flushHeaders();
      watches.push(res);
      return;
    }
    lists.push(listed);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        kind: 'ConfigMapList',
        apiVersion: 'v1',
        metadata: { resourceVersion: '10' },
        items: [cm(listed, '10')],
      }),
    );
  });
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  const port = (api.address() as AddressInfo).port;
  const kubeconfig = path.join(mkdtempSync(path.join(tmpdir(), 'kc-')), 'config');
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        { name: 'c', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } },
      ],
      users: [{ name: 'u', user: { token: 't' } }],
      contexts: [{ name: 'x', context: { cluster: 'c', user: 'u' } }],
      'current-context': 'x',
    }),
  );
  const store = new ConfigStore({ loaded: () => {}, log: () => {} });
  const source = watchConfigMap({ namespace: 'llm', name: 'gw', kubeconfig, store, log: () => {} });
  try {
    await source.ready;
    expect([...(store.current()?.routes.keys() ?? [])]).toEqual(['first']);
    await until(() => watches.length === 1);
    const t0 = Date.now();
    watches[0]?.write(`${JSON.stringify({ type: 'MODIFIED', object: cm('second', '11') })}\n`);
    await until(() => store.current()?.routes.has('second') === true);
    expect(Date.now() - t0).toBeLessThan(1000);
    // An invalid config is refused; the last good one keeps serving.
    watches[0]?.write(
      `${JSON.stringify({ type: 'MODIFIED', object: { ...cm('x', '12'), data: { 'config.json': '{}' } } })}\n`,
    );
    await new Promise((r) => setTimeout(r, 100));
    expect(store.current()?.routes.has('second')).toBe(true);
    // 410 Gone: the watch ends and the source lists again.
    listed = 'third';
    watches[0]?.end(
      `${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } })}\n`,
    );
    await until(() => store.current()?.routes.has('third') === true);
    expect(lists).toEqual(['first', 'third']);
  } finally {
    source.stop();
    api.closeAllConnections();
    await new Promise((r) => api.close(r));
  }
});
