// The ConfigMap source against a small fake API server speaking the list and watch protocol: list, watch
// from the list's resourceVersion, apply MODIFIED events, relist after 410 Gone.
import type { ServerResponse } from 'node:http';
import { KubeClient } from '../../../kube/client.js';
import { loadKubeAuth } from '../../../kube/kubeconfig.js';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { watchConfigMap } from './configmap.js';
import { ConfigStore } from './store.js';
import {
  isWatch,
  listOf,
  openWatch,
  sendJson,
  startFakeApiServer,
  watchLine,
} from '../../../testkit/fake-apiserver.js';

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
  const watches: ServerResponse[] = [];
  const api = await startFakeApiServer((url, res) => {
    expect(url.pathname).toBe('/api/v1/namespaces/llm/configmaps');
    expect(url.searchParams.get('fieldSelector')).toBe('metadata.name=gw');
    if (isWatch(url)) {
      watches.push(openWatch(res));
      return;
    }
    lists.push(listed);
    sendJson(res, listOf('ConfigMap', '10', [cm(listed, '10')]));
  });
  const client = new KubeClient(loadKubeAuth(api.kubeconfig));
  const store = new ConfigStore({ loaded: () => {}, log: () => {} });
  const source = watchConfigMap({ namespace: 'llm', name: 'gw', client, store, log: () => {} });
  try {
    await source.ready;
    expect([...(store.current()?.routes.keys() ?? [])]).toEqual(['first']);
    await until(() => watches.length === 1);
    const t0 = Date.now();
    watches[0]?.write(watchLine('MODIFIED', cm('second', '11')));
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
    await api.close();
  }
});

test('waits for a ConfigMap that does not exist yet, and keeps the last good config when it is deleted', async () => {
  const watches: ServerResponse[] = [];
  const api = await startFakeApiServer((url, res) => {
    if (isWatch(url)) watches.push(openWatch(res));
    else sendJson(res, listOf('ConfigMap', '3', []));
  });
  const logs: string[] = [];
  const store = new ConfigStore({ loaded: () => {}, log: () => {} });
  const source = watchConfigMap({
    namespace: 'llm',
    name: 'gw',
    client: new KubeClient(loadKubeAuth(api.kubeconfig)),
    store,
    log: (level, msg) => logs.push(`${level} ${msg}`),
  });
  try {
    await source.ready;
    expect(logs).toEqual(['warn ConfigMap not found, waiting for it']);
    expect(store.current()).toBeUndefined();
    await until(() => watches.length === 1);
    watches[0]?.write(watchLine('ADDED', cm('first', '4')));
    await until(() => store.current()?.routes.has('first') === true);
    watches[0]?.write(watchLine('DELETED', cm('first', '5')));
    await until(() => logs.length === 2);
    expect(logs[1]).toBe('warn ConfigMap deleted, keeping the last good config');
    expect(store.current()?.routes.has('first')).toBe(true);
  } finally {
    source.stop();
    await api.close();
  }
});
