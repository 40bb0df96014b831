// Leader election against a fake API server holding one Lease: winning it, and stepping down on time when
// the API server goes silent (a renewal that never gets an answer must not keep a leader in charge).
import { afterEach, describe, expect, it } from '@jest/globals';
import {
  sendJson,
  sendStatus,
  startFakeApiServer,
  type FakeApiServer,
} from '../../../testkit/fake-apiserver.js';
import { KubeClient, type KubeObject } from '../../../kube/client.js';
import { LeaderElector } from './leader.js';

const servers: FakeApiServer[] = [];
const electors: LeaderElector[] = [];

afterEach(async () => {
  for (const e of electors.splice(0)) await e.release();
  for (const s of servers.splice(0)) await s.close();
});

/** A fake API server with one Lease; `silent` makes it take requests and never answer them. */
async function leaseServer(): Promise<{ client: KubeClient; state: { silent: boolean; requests: number } }> {
  const state = { silent: false, requests: 0 };
  let lease: KubeObject | undefined;
  let rv = 1;
  const server = await startFakeApiServer((url, res, req) => {
    state.requests++;
    if (state.silent) return;
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.method === 'GET') {
        if (lease) sendJson(res, lease);
        else sendStatus(res, 404, 'NotFound', `leases "${url.pathname}" not found`);
        return;
      }
      const sent = JSON.parse(body) as KubeObject;
      lease = { ...sent, metadata: { ...sent.metadata, resourceVersion: String(++rv) } };
      sendJson(res, lease, req.method === 'POST' ? 201 : 200);
    });
  });
  servers.push(server);
  return { client: KubeClient.fromFile(server.kubeconfig), state };
}

async function until(check: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('LeaderElector', () => {
  it('steps down at the renew deadline when the API server goes silent, and does not campaign again', async () => {
    const { client, state } = await leaseServer();
    const events: { what: string; at: number }[] = [];
    const elector = new LeaderElector(client, {
      namespace: 'llm',
      name: 'op',
      identity: 'a',
      leaseDurationMs: 2000,
      renewDeadlineMs: 400,
      retryPeriodMs: 50,
      onStartedLeading: () => events.push({ what: 'started', at: Date.now() }),
      onStoppedLeading: () => events.push({ what: 'stopped', at: Date.now() }),
    });
    electors.push(elector);
    elector.start();
    await until(() => elector.isLeader);
    // A few renewals, then silence: every request from here on hangs (undici alone would wait 300 s).
    await new Promise((r) => setTimeout(r, 200));
    state.silent = true;
    const silentAt = Date.now();
    await until(() => events.length === 2);
    const stoppedAfterMs = (events[1]?.at ?? 0) - silentAt;
    expect(events.map((e) => e.what)).toEqual(['started', 'stopped']);
    expect(elector.isLeader).toBe(false);
    // The last renewal was sent before the silence, so the deadline falls within 400 ms of it.
    expect(stoppedAfterMs).toBeLessThanOrEqual(400 + 150);
    const requests = state.requests;
    state.silent = false;
    await new Promise((r) => setTimeout(r, 300));
    expect(state.requests).toBe(requests);
    expect(elector.isLeader).toBe(false);
  });
});
