import { loadConfig } from './config.js';

describe('loadConfig', () => {
  test('reads flags over environment and applies defaults', () => {
    const c = loadConfig(['--metrics-port', '9000', '--namespaces', 'a,b'], {
      BEASTMODE_METRICS_PORT: '1',
      POD_NAMESPACE: 'ops',
      POD_NAME: 'op-0',
    });
    expect(c).toMatchObject({
      metricsPort: 9000,
      namespaces: ['a', 'b'],
      leaderElect: true,
      leaseNamespace: 'ops',
      identity: 'op-0',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
    });
  });
  test('turns leader election off with --no-leader-elect', () => {
    expect(loadConfig(['--no-leader-elect'], {}).leaderElect).toBe(false);
  });
  test('names the bad setting', () => {
    expect(() => loadConfig(['--log-level', 'loud'], {})).toThrow(/logLevel/);
    expect(() => loadConfig(['--namespaces', 'Not_A_Namespace'], {})).toThrow(/namespaces/);
  });
});
