// The manager giving up leadership: writes are refused at once, and a reconcile stuck on a request that never
// returns (a dead connection) holds up the step-down, and so the exit after it, no longer than the grace.
import { describe, expect, it } from '@jest/globals';
import { KubeClient } from '../../../kube/client.js';
import { createLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { Manager } from './manager.js';
import type { ControllerContext } from './framework.js';

const unreachable = new KubeClient({
  source: 'test',
  server: () => Promise.resolve('https://127.0.0.1:1'),
  credentials: () => Promise.resolve({ headers: {}, dispatcher: undefined }),
  namespace: () => Promise.resolve(undefined),
});

describe('Manager.stopLeading', () => {
  it('refuses writes at once and waits for a stuck reconcile no longer than the grace', async () => {
    const manager = new Manager({
      client: unreachable,
      log: createLogger('error'),
      metrics: createMetrics(false),
      identity: 'test',
      gatewayImage: 'x',
      stopLeadingGraceMs: 100,
    });
    let ctx: ControllerContext | undefined;
    let started = false;
    manager.add({
      name: 'stuck',
      kind: 'ModelGateway',
      reconcile: (_key, c) => {
        ctx = c;
        started = true;
        return new Promise(() => undefined);
      },
    });
    manager.startLeading();
    manager.queue('stuck').add('llm/gw');
    while (!started) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    await manager.stopLeading();
    const waitedMs = Date.now() - t0;
    expect(waitedMs).toBeGreaterThanOrEqual(90);
    expect(waitedMs).toBeLessThan(1000);
    await expect(ctx?.apply('ConfigMap', { metadata: { name: 'x', namespace: 'llm' } })).rejects.toThrow(
      'not the leader: refusing to write',
    );
  });
});
