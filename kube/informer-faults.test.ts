// The informer when the API server or the connection to it fails, against a fake API server: a 410 Gone
// (as the watch's answer, or as an ERROR event in its stream) costs one list without the stale
// resourceVersion and loses nothing that changed meanwhile; a watch that goes silent, or is never answered,
// is given up and resumed from the last resourceVersion on a new connection; a connection that dies
// mid-stream is resumed from the last resourceVersion, without a list.
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
import { Informer, type ChangeType, type InformerOptions, type RestartReason } from './informer.js';
import { R } from './resources.js';

const servers: FakeApiServer[] = [];
const informers: Informer[] = [];

afterEach(async () => {
  for (const i of informers.splice(0)) i.shutdown();
  for (const s of servers.splice(0)) await s.close();
});

const cm = (name: string, rv: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'llm', resourceVersion: rv },
  data: { value: rv },
});

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A fake API server whose list answers `state.items` at `state.rv`; every list and watch request is kept,
 * watches are opened (headers sent) unless `state.answerWatches` is false.
 */
async function fakeServer() {
  const state = {
    items: [] as KubeObject[],
    rv: '1',
    answerWatches: true,
    lists: [] as URL[],
    watches: [] as { url: URL; res: ServerResponse }[],
  };
  const handle: FakeApiHandler = (url, res) => {
    if (!isWatch(url)) {
      state.lists.push(url);
      sendJson(res, listOf('ConfigMap', state.rv, state.items));
    } else {
      state.watches.push({ url, res });
      if (state.answerWatches) openWatch(res);
    }
  };
  const server = await startFakeApiServer(handle);
  servers.push(server);
  return { state, client: KubeClient.fromFile(server.kubeconfig) };
}

/** Starts an informer on namespace llm, recording changes ("<type> <name> <rv>") and restarts. */
function start(client: KubeClient, opts: Partial<InformerOptions> = {}) {
  const changes: string[] = [];
  const restarts: RestartReason[] = [];
  const informer = new Informer(client, {
    resource: R.ConfigMap,
    namespaces: ['llm'],
    backoff: { initialMs: 10, maxMs: 20 },
    onRestart: (_kind, reason) => restarts.push(reason),
    ...opts,
  });
  informer.onChange((type: ChangeType, obj) =>
    changes.push(`${type} ${obj.metadata.name} ${obj.metadata.resourceVersion ?? ''}`),
  );
  informers.push(informer);
  informer.start();
  return { informer, changes, restarts };
}

const rvOf = (url: URL | undefined): string | null => url?.searchParams.get('resourceVersion') ?? null;

describe('Informer faults', () => {
  for (const how of ['the watch answered 410', 'an ERROR event with code 410'] as const) {
    it(`${how}: one list without the stale resourceVersion, and what changed meanwhile is seen`, async () => {
      const { state, client } = await fakeServer();
      state.items = [cm('a', '5'), cm('b', '5')];
      state.rv = '5';
      const { informer, changes, restarts } = start(client);
      await informer.waitForSync();
      await until(() => state.watches.length === 1);
      state.watches[0]?.res.write(watchLine('MODIFIED', cm('a', '6')));
      await until(() => changes.length === 3);
      // The watch ends; meanwhile a changed, b was deleted, c was created, and the history was compacted.
      state.answerWatches = how === 'an ERROR event with code 410';
      state.watches[0]?.res.end();
      await until(() => state.watches.length === 2);
      expect(rvOf(state.watches[1]?.url)).toBe('6');
      state.items = [cm('a', '9'), cm('c', '8')];
      state.rv = '9';
      const stale = state.watches[1];
      if (how === 'the watch answered 410') {
        sendStatus(stale!.res, 410, 'Expired', 'too old resource version: 6 (8)');
      } else {
        stale?.res.end(
          watchLine('ERROR', { kind: 'Status', code: 410, reason: 'Expired', message: 'too old' }),
        );
      }
      state.answerWatches = true;
      await until(() => changes.length === 6);
      expect(changes).toEqual(['add a 5', 'add b 5', 'update a 6', 'update a 9', 'add c 8', 'delete b 5']);
      await until(() => state.watches.length === 3);
      expect(state.lists).toHaveLength(2);
      expect(rvOf(state.lists[1])).toBeNull();
      expect(rvOf(state.watches[2]?.url)).toBe('9');
      expect(restarts).toEqual(['closed', 'gone']);
      // Nothing more: one 410, one list.
      await new Promise((r) => setTimeout(r, 100));
      expect(state.lists).toHaveLength(2);
    });
  }

  it('a watch that goes silent is given up after the silence timeout and resumed from its resourceVersion', async () => {
    const { state, client } = await fakeServer();
    state.items = [cm('a', '5')];
    state.rv = '5';
    const { informer, changes, restarts } = start(client, { silenceTimeoutMs: 300 });
    await informer.waitForSync();
    await until(() => state.watches.length === 1);
    state.watches[0]?.res.write(watchLine('BOOKMARK', { metadata: { resourceVersion: '7' } }));
    const lastByte = Date.now();
    // Accepted, then not one byte more (a half-open connection): a new watch after 300 ms of silence.
    await until(() => state.watches.length === 2);
    const silentMs = Date.now() - lastByte;
    expect(silentMs).toBeGreaterThanOrEqual(250);
    expect(silentMs).toBeLessThan(1500);
    expect(rvOf(state.watches[1]?.url)).toBe('7');
    expect(state.lists).toHaveLength(1);
    expect(restarts).toEqual(['timeout']);
    // The events since come on the new watch.
    state.watches[1]?.res.write(watchLine('MODIFIED', cm('a', '8')));
    await until(() => changes.length === 2);
    expect(changes).toEqual(['add a 5', 'update a 8']);
  });

  it('a watch request that is never answered is given up and sent again from the same resourceVersion', async () => {
    const { state, client } = await fakeServer();
    state.items = [cm('a', '5')];
    state.rv = '5';
    state.answerWatches = false;
    const { informer, restarts } = start(client, { silenceTimeoutMs: 200 });
    await informer.waitForSync();
    await until(() => state.watches.length === 3);
    expect(state.watches.map((w) => rvOf(w.url))).toEqual(['5', '5', '5']);
    expect(state.lists).toHaveLength(1);
    expect(restarts.slice(0, 2)).toEqual(['timeout', 'timeout']);
  });

  it('an accepted watch starts the backoff over: the first failure after an outage waits the initial delay', async () => {
    let refusing = 3;
    const watches: ServerResponse[] = [];
    const server = await startFakeApiServer((url, res) => {
      if (!isWatch(url)) return sendJson(res, listOf('ConfigMap', '5', [cm('a', '5')]));
      if (refusing-- > 0) return sendStatus(res, 503, 'ServiceUnavailable', 'down');
      watches.push(openWatch(res));
    });
    servers.push(server);
    const retries: (number | undefined)[] = [];
    const { informer } = start(KubeClient.fromFile(server.kubeconfig), {
      backoff: { initialMs: 10, maxMs: 10_000 },
      onError: (_kind, _err, retryInMs) => retries.push(retryInMs),
    });
    await informer.waitForSync();
    await until(() => watches.length === 1);
    expect(retries).toEqual([10, 20, 40]);
    watches[0]?.socket?.destroy();
    await until(() => watches.length === 2);
    expect(retries).toEqual([10, 20, 40, 10]);
  });

  it('a connection that dies mid-stream is resumed from the last resourceVersion without a list', async () => {
    const { state, client } = await fakeServer();
    state.items = [cm('a', '5')];
    state.rv = '5';
    const { informer, changes, restarts } = start(client);
    await informer.waitForSync();
    await until(() => state.watches.length === 1);
    const first = state.watches[0]!;
    first.res.write(watchLine('MODIFIED', cm('a', '6')));
    await until(() => changes.length === 2);
    first.res.socket?.destroy();
    await until(() => state.watches.length === 2);
    expect(rvOf(state.watches[1]?.url)).toBe('6');
    state.watches[1]?.res.write(watchLine('ADDED', cm('b', '7')));
    await until(() => changes.length === 3);
    expect(changes).toEqual(['add a 5', 'update a 6', 'add b 7']);
    expect(state.lists).toHaveLength(1);
    expect(restarts).toEqual(['error']);
  });
});
