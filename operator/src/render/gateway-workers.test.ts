import type { ModelGatewaySpec } from '../../../api/v1alpha1/index.js';
import { gatewayWorkers, wholeCores } from './gateway.js';

describe('gateway workers per pod', () => {
  test.each([
    ['2', 2],
    [3, 3],
    ['1500m', 1],
    ['2500m', 2],
    ['500m', 1],
    ['0.5', 1],
    ['4.9', 4],
  ] as const)('a CPU limit of %s is %d whole cores', (cpu, cores) => {
    expect(wholeCores(cpu)).toBe(cores);
  });

  test('follow the declared count, else the CPU limit, else one', () => {
    const spec = (s: Partial<ModelGatewaySpec>) => s as ModelGatewaySpec;
    expect(gatewayWorkers(spec({ workers: 3, resources: { limits: { cpu: '8' } } }))).toBe(3);
    expect(gatewayWorkers(spec({ resources: { limits: { cpu: '8' } } }))).toBe(8);
    expect(gatewayWorkers(spec({ resources: { requests: { cpu: '8' } } }))).toBe(1);
    expect(gatewayWorkers(spec({}))).toBe(1);
    expect(wholeCores(undefined)).toBeUndefined();
  });
});
