// The NetworkPolicy around a gateway's pods: what it admits in and lets out, and when there is none.
import {
  GatewayNetworkPolicySpec,
  ModelGatewaySpec,
  compileGatewaySettings,
  finishGatewayConfig,
  type ModelGateway,
} from '../../../api/v1alpha1/index.js';
import { GATEWAY_PORT, gatewayObjectName, gatewaySelector, renderGatewayObjects } from './gateway.js';
import { METADATA_IPV4, METADATA_IPV6 } from './gateway-network-policy.js';

interface Port {
  port: number;
  protocol: string;
}
interface Peer {
  ipBlock?: { cidr: string; except?: string[] };
  podSelector?: unknown;
  namespaceSelector?: unknown;
}
interface Rule {
  ports?: Port[];
  from?: Peer[];
  to?: Peer[];
}
interface PolicySpec {
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress: Rule[];
  egress: Rule[];
}

function gateway(spec: Record<string, unknown> = {}): ModelGateway {
  return {
    apiVersion: 'beastmode.dev/v1alpha1',
    kind: 'ModelGateway',
    metadata: { name: 'main', namespace: 'llm', uid: 'gw-uid' },
    spec: ModelGatewaySpec.parse(spec),
  };
}

function render(spec: Record<string, unknown> = {}) {
  const gw = gateway(spec);
  const config = finishGatewayConfig({
    ...compileGatewaySettings({ namespace: 'llm', name: 'main' }),
    routes: [],
  });
  return renderGatewayObjects({ gateway: gw, config, secrets: [], defaultImage: 'img', autoscaled: false })
    .networkPolicy;
}

function policy(spec: Record<string, unknown> = {}): PolicySpec {
  const np = render(spec);
  if (!np) throw new Error('no NetworkPolicy rendered');
  return np.spec as PolicySpec;
}

const tcp = (port: number): Port => ({ port, protocol: 'TCP' });
const allPorts = (rules: Rule[]): number[] => rules.flatMap((r) => (r.ports ?? []).map((p) => p.port));
const backendRule = (p: PolicySpec): Rule | undefined => p.egress.find((r) => r.ports === undefined);

describe('gateway NetworkPolicy', () => {
  test('selects the gateway pods, is owned by the gateway and denies by default both ways', () => {
    const np = render();
    expect(np).toMatchObject({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: gatewayObjectName('main'),
        namespace: 'llm',
        labels: { 'app.kubernetes.io/managed-by': 'beastmode-operator' },
        ownerReferences: [{ kind: 'ModelGateway', name: 'main', uid: 'gw-uid', controller: true }],
      },
    });
    const spec = np?.spec as PolicySpec;
    expect(spec.podSelector).toEqual({ matchLabels: gatewaySelector('main') });
    expect(spec.policyTypes).toEqual(['Ingress', 'Egress']);
  });

  test('admits anyone on the gateway port (clients and /metrics) when ingressFrom is absent or empty', () => {
    for (const np of [policy(), policy({ networkPolicy: { ingressFrom: [] } })]) {
      expect(np.ingress).toEqual([{ ports: [tcp(GATEWAY_PORT)] }]);
    }
  });

  test('admits only the ingressFrom peers, on the gateway port alone', () => {
    const from = [
      { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress' } } },
      { namespaceSelector: {}, podSelector: { matchLabels: { app: 'prometheus' } } },
      { ipBlock: { cidr: '10.0.0.0/8', except: ['10.9.0.0/16'] } },
    ];
    expect(policy({ networkPolicy: { ingressFrom: from } }).ingress).toEqual([
      { ports: [tcp(GATEWAY_PORT)], from },
    ]);
  });

  test('lets out DNS over UDP and TCP, and the API server on 443 and 6443 to anywhere by default', () => {
    const np = policy();
    expect(np.egress[0]).toEqual({ ports: [{ port: 53, protocol: 'UDP' }, tcp(53)] });
    expect(np.egress[1]).toEqual({ ports: [tcp(443), tcp(6443)] });
  });

  test('reaches the API server only at apiServerCIDRs, on apiServerPorts, when they are given', () => {
    const np = policy({
      networkPolicy: { apiServerPorts: [8443], apiServerCIDRs: ['10.0.0.1/32', 'fd00::1/128'] },
    });
    expect(np.egress[1]).toEqual({
      ports: [tcp(8443)],
      to: [{ ipBlock: { cidr: '10.0.0.1/32' } }, { ipBlock: { cidr: 'fd00::1/128' } }],
    });
  });

  test('lets backends be anywhere on any port except the cloud metadata addresses', () => {
    expect(backendRule(policy())).toEqual({
      to: [
        { ipBlock: { cidr: '0.0.0.0/0', except: METADATA_IPV4 } },
        { ipBlock: { cidr: '::/0', except: METADATA_IPV6 } },
        { namespaceSelector: {} },
      ],
    });
    expect([METADATA_IPV4, METADATA_IPV6]).toEqual([
      ['169.254.0.0/16', '100.100.100.200/32'],
      ['fe80::/10', 'fd00:ec2::254/128'],
    ]);
  });

  test('opens no rule to every address on the metadata port: those to anywhere name other ports', () => {
    const np = policy({
      redis: { urlSecretRef: { name: 'redis', key: 'url' } },
      networkPolicy: { apiServerPorts: [443] },
    });
    for (const rule of np.egress) {
      if (rule.ports === undefined) {
        for (const { ipBlock } of rule.to ?? []) {
          if (ipBlock)
            expect(ipBlock.except).toEqual(ipBlock.cidr.includes(':') ? METADATA_IPV6 : METADATA_IPV4);
        }
        expect(rule.to?.length).toBeGreaterThan(0);
      } else {
        expect(rule.ports.map((p) => p.port)).not.toContain(80);
      }
    }
  });

  test('lets out the Redis port only when the gateway uses Redis', () => {
    expect(allPorts(policy().egress)).not.toContain(6379);
    const withRedis = policy({ redis: { urlSecretRef: { name: 'redis', key: 'url' } } });
    expect(withRedis.egress).toContainEqual({ ports: [tcp(6379)] });
  });

  test("lets out the trace collector's port, never to the metadata ranges, only when tracing is on", () => {
    const collectorRule = (p: PolicySpec, port: number) =>
      p.egress.find((r) => r.ports?.length === 1 && r.ports[0]?.port === port && r.to !== undefined);
    expect(collectorRule(policy(), 4318)).toBeUndefined();
    const traced = policy({ tracing: { endpoint: 'http://otel-collector.observability.svc:4318' } });
    const rule = collectorRule(traced, 4318);
    expect(rule?.ports).toEqual([tcp(4318)]);
    expect(rule?.to).toEqual(backendRule(traced)?.to);
    // A collector on the scheme's port: port 80 to anywhere would open the metadata service.
    const onHttpPort = policy({ tracing: { endpoint: 'http://collector.example' } });
    const rule80 = collectorRule(onHttpPort, 80);
    expect(rule80?.to).toContainEqual({ ipBlock: { cidr: '0.0.0.0/0', except: METADATA_IPV4 } });
    expect(collectorRule(policy({ tracing: { endpoint: 'https://otlp.example/otlp' } }), 443)).toBeDefined();
  });

  test('renders none when disabled', () => {
    expect(render({ networkPolicy: { enabled: false } })).toBeUndefined();
    expect(
      render({ networkPolicy: { enabled: false, ingressFrom: [{ namespaceSelector: {} }] } }),
    ).toBeUndefined();
  });

  test('a spec the API server did not default renders as the defaults do', () => {
    const raw = { ...gateway(), spec: { networkPolicy: {} } as unknown as ModelGateway['spec'] };
    const config = finishGatewayConfig({
      ...compileGatewaySettings({ namespace: 'llm', name: 'main' }),
      routes: [],
    });
    const objects = renderGatewayObjects({
      gateway: raw,
      config,
      secrets: [],
      defaultImage: 'img',
      autoscaled: false,
    });
    expect(objects.networkPolicy?.spec).toEqual(policy());
  });
});

describe('gateway NetworkPolicy schema', () => {
  test('defaults to enabled, with the API server on 443 and 6443', () => {
    expect(GatewayNetworkPolicySpec.parse({})).toEqual({ enabled: true, apiServerPorts: [443, 6443] });
  });

  test.each([
    ['an ipBlock beside a selector', { ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }],
    ['a peer naming nothing', {}],
    ['an address without a prefix length', { ipBlock: { cidr: '10.0.0.1' } }],
    ['a prefix longer than the address', { ipBlock: { cidr: '10.0.0.0/33' } }],
    ['a host name', { ipBlock: { cidr: 'example.com/8' } }],
    ['a label selector with expressions', { podSelector: { matchExpressions: [] } }],
  ])('refuses %s as a peer', (_what, peer) => {
    expect(GatewayNetworkPolicySpec.safeParse({ ingressFrom: [peer] }).success).toBe(false);
  });

  test('refuses an empty list of API server ports or addresses (an empty list would mean any)', () => {
    expect(GatewayNetworkPolicySpec.safeParse({ apiServerPorts: [] }).success).toBe(false);
    expect(GatewayNetworkPolicySpec.safeParse({ apiServerCIDRs: [] }).success).toBe(false);
    expect(GatewayNetworkPolicySpec.safeParse({ apiServerPorts: [0] }).success).toBe(false);
  });

  test('accepts IPv4 and IPv6 ranges and selectors alone or together', () => {
    const ok = GatewayNetworkPolicySpec.safeParse({
      ingressFrom: [
        { ipBlock: { cidr: 'fd00::/8', except: ['fd00:1::/32'] } },
        { podSelector: { matchLabels: { app: 'web' } }, namespaceSelector: {} },
        { namespaceSelector: { matchLabels: { team: 'a' } } },
      ],
      apiServerCIDRs: ['192.168.1.10/32'],
    });
    expect(ok.success).toBe(true);
  });
});
