// The informer against a fake API server speaking the list and watch protocol: selectors on both calls,
// bookmarks, resuming a watch the server ended, relisting after 410 Gone, backing off after failures, and
// the first-list notion callers use not to wait for a server that is down.
import { afterEach, describe, expect, it } from '@jest/globals';
import type { ServerResponse } from 'node:http';
import {
  isWatch,
  listOf,
  openWatch,
  sendJson,
  sendStatus,
  startFakeApiServer,
  watchLine,
  type FakeApiHandler,
  type FakeApiServer,
} from '../testkit/fake-apiserver.js';
import { KubeClient, type KubeObject } from './client.js';
import { Informer, informerForName, type ChangeType } from './informer.js';
import { R } from './resources.js';

const servers: FakeApiServer[] = [];
const informers: Informer[] = [];

afterEach(async () => {
  for (const i of informers.splice(0)) i.shutdown();
  for (const s of servers.splice(0)) await s.close();
});

async function clientOf(handle: FakeApiHandler): Promise<KubeClient> {
  const server = await startFakeApiServer(handle);
  servers.push(server);
  return KubeClient.fromFile(server.kubeconfig);
}

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'llm', resourceVersion: rv, managedFields: [{ manager: 'x' }] },
  data: { value: rv },
});

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Starts the informer and records its changes as "<type> <name> <resourceVersion>". */
function start(informer: Informer): string[] {
  const changes: string[] = [];
  informer.onChange((type: ChangeType, obj) =>
    changes.push(`${type} ${obj.metadata.name} ${obj.metadata.resourceVersion ?? ''}`),
  );
  informers.push(informer);
  informer.start();
  return changes;
}

describe('Informer', () => {
  it('follows one named object: field selector, bookmarks, resume after the server ends a watch, relist on 410', async () => {
    const lists: URL[] = [];
    const watches: { url: URL; res: ServerResponse }[] = [];
    let listed = [cm('gw', '10')];
    const client = await clientOf((url, res) => {
      if (isWatch(url)) watches.push({ url, res: openWatch(res) });
      else {
        lists.push(url);
        sendJson(res, listOf('ConfigMap', '10', listed));
      }
    });
    const informer = informerForName(client, R.ConfigMap, 'llm', 'gw');
    const changes = start(informer);

    await informer.waitForSync();
    expect(informer.get('llm', 'gw')?.metadata.managedFields).toBeUndefined();
    expect(lists[0]?.pathname).toBe('/api/v1/namespaces/llm/configmaps');
    expect(lists[0]?.searchParams.get('fieldSelector')).toBe('metadata.name=gw');
    await until(() => watches.length === 1);
    const first = watches[0]!;
    expect(first.url.searchParams.get('fieldSelector')).toBe('metadata.name=gw');
    expect(first.url.searchParams.get('allowWatchBookmarks')).toBe('true');
    expect(first.url.searchParams.get('resourceVersion')).toBe('10');

    first.res.write(watchLine('MODIFIED', cm('gw', '11')));
    await until(() => changes.length === 2);
    // A bookmark moves the resourceVersion without a change; then the server ends the watch (its timeout).
    first.res.end(watchLine('BOOKMARK', { metadata: { resourceVersion: '15' } }));
    await until(() => watches.length === 2);
    expect(watches[1]!.url.searchParams.get('resourceVersion')).toBe('15');
    expect(lists).toHaveLength(1);

    listed = [cm('gw', '20')];
    watches[1]!.res.end(watchLine('ERROR', { kind: 'Status', code: 410, reason: 'Expired' }));
    await until(() => changes.length === 3);
    expect(lists).toHaveLength(2);
    expect(changes).toEqual(['add gw 10', 'update gw 11', 'update gw 20']);
  });

  it('says when the first list was tried even if it failed, backs off, and syncs once the server answers', async () => {
    let failures = 2;
    const client = await clientOf((url, res) => {
      if (isWatch(url)) openWatch(res);
      else if (failures-- > 0) sendStatus(res, 403, 'Forbidden', 'configmaps "gw" is forbidden');
      else sendJson(res, listOf('ConfigMap', '5', [cm('gw', '5')]));
    });
    const retries: { retryInMs: number | undefined; message: string }[] = [];
    const informer = informerForName(client, R.ConfigMap, 'llm', 'gw', {
      backoff: { initialMs: 20, maxMs: 30 },
      onError: (_kind, err, retryInMs) => retries.push({ retryInMs, message: (err as Error).message }),
    });
    start(informer);
    await informer.waitForFirstList();
    expect(informer.hasSynced).toBe(false);
    await informer.waitForSync();
    expect(retries.map((r) => r.retryInMs)).toEqual([20, 30]);
    expect(retries[0]?.message).toContain('403 configmaps "gw" is forbidden');
    expect(informer.get('llm', 'gw')?.metadata.resourceVersion).toBe('5');
  });

  it('lists again after repeated watch failures and reports what disappeared meanwhile', async () => {
    let lists = 0;
    let watchCalls = 0;
    let watchesBeforeRelist = -1;
    const client = await clientOf((url, res) => {
      if (!isWatch(url)) {
        lists++;
        if (lists === 2) watchesBeforeRelist = watchCalls;
        sendJson(res, listOf('ConfigMap', '1', lists === 1 ? [cm('a', '1'), cm('b', '1')] : [cm('a', '1')]));
        return;
      }
      watchCalls++;
      sendStatus(res, 500, 'InternalError', 'boom');
    });
    const informer = new Informer(client, {
      resource: R.ConfigMap,
      namespaces: ['llm'],
      backoff: { initialMs: 1, maxMs: 2 },
    });
    const changes = start(informer);
    // The watch keeps failing, so lists go on every few ms: wait for the second, whatever came after it.
    await until(() => lists >= 2);
    // Three failures resume the watch from the same resourceVersion; the fourth gives it up and lists.
    expect(watchesBeforeRelist).toBe(4);
    await until(() => changes.length >= 3);
    expect(changes).toEqual(['add a 1', 'add b 1', 'delete b 1']);
  });

  it('stops on shutdown: no further requests, and first-list waiters are released', async () => {
    let requests = 0;
    const client = await clientOf(() => {
      requests++; // never answers
    });
    const informer = informerForName(client, R.Secret, 'llm', 's');
    start(informer);
    await until(() => requests === 1);
    informer.shutdown();
    await informer.waitForFirstList();
    await new Promise((r) => setTimeout(r, 50));
    expect(requests).toBe(1);
    expect(informer.hasSynced).toBe(false);
  });
});
