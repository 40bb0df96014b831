// The NetworkPolicy around a ModelGateway's pods: everything denied both ways, then only what a gateway
// needs. Pure: plain objects in, plain objects out.
import { GatewayNetworkPolicySpec, type ModelGatewaySpec } from '../../../api/v1alpha1/index.js';
import type { KubeObject } from '../../../kube/client.js';

/**
 * Where clouds serve instance metadata and credentials: the link-local ranges (169.254.169.254), AWS's
 * IPv6 endpoint and Alibaba Cloud's address.
 */
export const METADATA_IPV4 = ['169.254.0.0/16', '100.100.100.200/32'];
export const METADATA_IPV6 = ['fe80::/10', 'fd00:ec2::254/128'];
const DNS_PORT = 53;
const REDIS_PORT = 6379;

export interface GatewayNetworkPolicyInput {
  spec: ModelGatewaySpec;
  /** Name, namespace, labels and owner reference, as every object the gateway owns carries them. */
  metadata: KubeObject['metadata'];
  /** The gateway pods' selector labels. */
  podSelector: Record<string, string>;
  /** The container port: what the Service forwards to, and /metrics. */
  port: number;
}

const tcp = (port: number) => ({ port, protocol: 'TCP' });

/** Everywhere but the cloud metadata ranges: pods are a peer of their own (see below). Fresh objects each
 * time: a YAML writer would turn one object met twice into an alias. */
const anywhereButMetadata = () => [
  { ipBlock: { cidr: '0.0.0.0/0', except: METADATA_IPV4 } },
  { ipBlock: { cidr: '::/0', except: METADATA_IPV6 } },
  { namespaceSelector: {} },
];

/** The TCP port of an OTLP/HTTP endpoint (validated by the schema): its own, else its scheme's. */
export function collectorPort(endpoint: string): number {
  const u = new URL(endpoint);
  return u.port !== '' ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

/**
 * Out, the gateway needs DNS, the API server (it watches its GatewayConfig), Redis when set, and its
 * backends. Backends are written in routes by tenants and may be anywhere, so they get every destination
 * and port except the link-local ranges: which internal addresses a backend may use is decided by the
 * gateway's own egress policy (spec.egress), enforced in the gateway when it connects; this policy is the
 * second, network-level line that keeps the metadata service out even if the process were compromised.
 * The rules for DNS, the API server and Redis name ports and no destination: a node-local DNS cache listens
 * on a link-local address (169.254.20.10), and a network plugin may not match the API server or host-network
 * pods by address; none of those ports is the metadata service's (80). Pods are a peer of their own beside
 * the address ranges, since some plugins (Cilium) never match pod addresses by ipBlock, and in-cluster
 * model servers are pods.
 * The trace collector (spec.tracing) gets its own rule, its port to the same destinations as backends: it
 * is named even though the backends' rule covers it today, so narrowing that rule never cuts tracing off,
 * and with a destination, since a collector on port 80 must not open the metadata service.
 * `enabled: false` renders none.
 */
export function renderGatewayNetworkPolicy(input: GatewayNetworkPolicyInput): KubeObject | undefined {
  const np = GatewayNetworkPolicySpec.parse(input.spec.networkPolicy ?? {});
  if (!np.enabled) return undefined;
  const from = np.ingressFrom ?? [];
  const apiServer = np.apiServerCIDRs?.map((cidr) => ({ ipBlock: { cidr } }));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: input.metadata,
    spec: {
      podSelector: { matchLabels: input.podSelector },
      policyTypes: ['Ingress', 'Egress'],
      // Clients, and the operator and Prometheus reading /metrics on the same port.
      ingress: [{ ports: [tcp(input.port)], ...(from.length > 0 ? { from } : {}) }],
      egress: [
        { ports: [{ port: DNS_PORT, protocol: 'UDP' }, tcp(DNS_PORT)] },
        { ports: np.apiServerPorts.map(tcp), ...(apiServer ? { to: apiServer } : {}) },
        // The Redis URL is in a Secret the operator cannot read: its default port, to any destination.
        ...(input.spec.redis ? [{ ports: [tcp(REDIS_PORT)] }] : []),
        ...(input.spec.tracing
          ? [{ ports: [tcp(collectorPort(input.spec.tracing.endpoint))], to: anywhereButMetadata() }]
          : []),
        { to: anywhereButMetadata() },
      ],
    },
  };
}
