import { describe, expect, it } from '@jest/globals';
import type { V1Pod } from '@kubernetes/client-node';
import { ChainedGatewayEndpoints, KubeGatewayEndpoints, StaticGatewayEndpoints } from './endpoints.js';

const pod = (ip: string, ready: boolean, ports?: { name?: string; containerPort: number }[]): V1Pod => ({
  spec: { containers: [{ name: 'gateway', ...(ports ? { ports } : {}) }] },
  status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
});

describe('gateway endpoints', () => {
  it('finds the ready pods of the gateway by its status selector, on the metrics or http port', async () => {
    const asked: string[] = [];
    const kube = new KubeGatewayEndpoints(() => ({
      gatewaySelector: (g) => (g.name === 'default' ? 'app=gw' : undefined),
      listPods: (ns, sel) => {
        asked.push(`${ns}?${sel}`);
        return Promise.resolve([
          pod('10.0.0.2', true, [
            { name: 'http', containerPort: 8080 },
            { name: 'metrics', containerPort: 9090 },
          ]),
          pod('10.0.0.1', true, [{ name: 'http', containerPort: 8080 }]),
          pod('10.0.0.3', false),
          pod('fd00::1', true),
        ]);
      },
    }));
    expect(await kube.resolve({ namespace: 'llm', name: 'default' })).toEqual([
      'http://10.0.0.1:8080/metrics',
      'http://10.0.0.2:9090/metrics',
      'http://[fd00::1]:8080/metrics',
    ]);
    expect(asked).toEqual(['llm?app=gw']);
    expect(await kube.resolve({ namespace: 'llm', name: 'other' })).toEqual([]);
    expect(
      await new KubeGatewayEndpoints(() => undefined).resolve({ namespace: 'llm', name: 'default' }),
    ).toEqual([]);
  });

  it('prefers the static map (local processes), by namespace/name then name', async () => {
    const chained = new ChainedGatewayEndpoints([
      new StaticGatewayEndpoints(
        new Map([
          ['llm/default', ['http://a/metrics']],
          ['edge', ['http://b/metrics']],
        ]),
      ),
      new StaticGatewayEndpoints(
        new Map([
          ['default', ['http://c/metrics']],
          ['other', ['http://d/metrics']],
        ]),
      ),
    ]);
    expect(await chained.resolve({ namespace: 'llm', name: 'default' })).toEqual(['http://a/metrics']);
    expect(await chained.resolve({ namespace: 'x', name: 'edge' })).toEqual(['http://b/metrics']);
    expect(await chained.resolve({ namespace: 'x', name: 'other' })).toEqual(['http://d/metrics']);
  });
});
