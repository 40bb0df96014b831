import { loadConfig, OPERATOR_COMMAND, type OperatorConfig } from './config.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): OperatorConfig {
  const c = loadConfig(argv, env);
  if ('help' in c) throw new Error('expected a configuration, got the help text');
  return c;
}

describe('loadConfig', () => {
  test('reads flags over environment and applies defaults', () => {
    const c = config(['--metrics-port', '9000', '--namespaces', 'a,b'], {
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
    expect(config(['--no-leader-elect']).leaderElect).toBe(false);
  });
  test('names the bad setting', () => {
    expect(() => config(['--log-level', 'loud'])).toThrow(/logLevel/);
    expect(() => config(['--namespaces', 'Not_A_Namespace'])).toThrow(/namespaces/);
    expect(() => config(['--gateway-metrics-url', 'default=ftp://x'])).toThrow(/gatewayMetricsUrls.*http/);
  });
  test('refuses an unknown flag, pointing at --help', () => {
    expect(() => config(['--metric-port', '1'])).toThrow(/metric-port.*beastmode operator --help/);
  });
  test('reads gateway metrics URLs from the flag or the environment', () => {
    expect(config(['--gateway-metrics-url', 'default=http://127.0.0.1:8080']).gatewayMetricsUrls).toEqual(
      new Map([['default', ['http://127.0.0.1:8080/metrics']]]),
    );
    const fromEnv = config([], {
      BEASTMODE_GATEWAY_METRICS_URLS: 'llm/edge=http://h:1/m,llm/edge=http://h:2/m',
    });
    expect(fromEnv.gatewayMetricsUrls.get('llm/edge')).toEqual(['http://h:1/m', 'http://h:2/m']);
  });
  test('keeps the dashboard off by default and needs a token file in token mode', () => {
    expect(config([]).dashboardPort).toBe(0);
    expect(() => config(['--dashboard-port', '8082'])).toThrow(/dashboardTokenFile/);
    expect(config(['--dashboard-port', '8082', '--dashboard-token-file', '/t'])).toMatchObject({
      dashboardPort: 8082,
      dashboardAuth: 'token',
      dashboardTokenFile: '/t',
    });
    expect(
      config([], { BEASTMODE_DASHBOARD_PORT: '8082', BEASTMODE_DASHBOARD_AUTH: 'tokenreview' }).dashboardAuth,
    ).toBe('tokenreview');
    expect(() => config(['--dashboard-auth', 'none'])).toThrow(/dashboardAuth/);
    expect(config(['--dashboard-prometheus-url', 'http://prometheus:9090']).dashboardPrometheusUrl).toBe(
      'http://prometheus:9090',
    );
    expect(() => config(['--dashboard-prometheus-url', 'ftp://x'])).toThrow(/dashboardPrometheusUrl/);
  });
  test('answers --help with every flag and its environment variable', () => {
    const c = loadConfig(['--help'], {});
    expect('help' in c).toBe(true);
    const text = (c as { help: string }).help;
    for (const [flag, spec] of Object.entries(OPERATOR_COMMAND.flags)) {
      expect(text).toContain(`--${flag}`);
      if (spec.env !== undefined) expect(text).toContain(spec.env);
    }
  });
});
