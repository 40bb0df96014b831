// Where the gateway may connect: the egress policy against server-side request forgery. A backend URL
// comes from a ModelRoute, which a tenant writes; without this, a route could make the gateway call the
// cloud's metadata service, the API server, Redis or the gateway itself. Public addresses are always
// allowed (hosted APIs); an address in a non-public range — loopback, private, CGNAT, link-local,
// unique-local, unspecified, multicast, reserved, documentation or an IPv6 transition range that embeds
// one — only when the ModelGateway's `egress.allow` names it, by CIDR or by host name.
//
// The check runs when a connection is made, on the address it is made to: the connector resolves the name
// itself, refuses if any address it resolves to is not allowed (a name cannot mix a public address with an
// internal one), and connects to the address it checked (no second lookup for DNS rebinding to change).
// IP literals in any spelling (decimal, octal, hex, short forms, IPv4-mapped IPv6) are already normalised
// by the WHATWG URL parser that reads backend URLs; net.BlockList matches IPv4-mapped IPv6 against the
// IPv4 ranges.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { buildConnector } from 'undici';

type Range = [network: string, prefix: number];

/** Non-public address ranges by the reason a connection there is refused. */
const RANGES: Record<string, { v4?: Range[]; v6?: Range[] }> = {
  loopback: { v4: [['127.0.0.0', 8]], v6: [['::1', 128]] },
  unspecified: {
    v4: [['0.0.0.0', 8]],
    // ::/128, and the deprecated IPv4-compatible ::a.b.c.d (::/96).
    v6: [['::', 96]],
  },
  private: {
    v4: [
      ['10.0.0.0', 8],
      ['172.16.0.0', 12],
      ['192.168.0.0', 16],
    ],
    v6: [['fc00::', 7]],
  },
  cgnat: { v4: [['100.64.0.0', 10]] },
  'link-local': {
    v4: [['169.254.0.0', 16]],
    v6: [
      ['fe80::', 10],
      ['fec0::', 10],
    ],
  },
  multicast: {
    v4: [
      ['224.0.0.0', 4],
      ['255.255.255.255', 32],
    ],
    v6: [['ff00::', 8]],
  },
  reserved: {
    v4: [
      ['240.0.0.0', 4],
      ['192.0.0.0', 24],
      ['198.18.0.0', 15],
    ],
    v6: [
      ['100::', 64],
      ['2001::', 23],
    ],
  },
  documentation: {
    v4: [
      ['192.0.2.0', 24],
      ['198.51.100.0', 24],
      ['203.0.113.0', 24],
    ],
    v6: [['2001:db8::', 32]],
  },
  // Prefixes that embed an IPv4 address (NAT64, 6to4): they could reach any internal IPv4 address.
  'ipv6-transition': {
    v6: [
      ['64:ff9b::', 96],
      ['64:ff9b:1::', 48],
      ['2002::', 16],
    ],
  },
};

/** Ranges a host name on the allow-list still never reaches: only a CIDR entry opens them. */
const NEVER_BY_NAME = new Set(['link-local', 'unspecified', 'multicast']);

const BLOCKS: [reason: string, list: BlockList][] = Object.entries(RANGES).map(([reason, r]) => {
  const list = new BlockList();
  for (const [net, prefix] of r.v4 ?? []) list.addSubnet(net, prefix, 'ipv4');
  for (const [net, prefix] of r.v6 ?? []) list.addSubnet(net, prefix, 'ipv6');
  return [reason, list];
});

const familyOf = (address: string): 'ipv4' | 'ipv6' => (isIP(address) === 6 ? 'ipv6' : 'ipv4');

/** Why an address is not public (loopback, private, …), or undefined for a public address. */
export function nonPublicReason(address: string): string | undefined {
  const family = familyOf(address);
  for (const [reason, list] of BLOCKS) if (list.check(address, family)) return reason;
  return undefined;
}

/** A CIDR ("10.96.0.0/12", "fd00::/8", "127.0.0.1/32") or a host name, optionally "*." for subdomains. */
export const EGRESS_CIDR = /^([0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*)\/(\d{1,3})$/;

export class EgressPolicy {
  private readonly cidrs = new BlockList();
  private readonly hosts = new Set<string>();
  private readonly suffixes: string[] = [];

  /** Throws for an entry that is neither a valid CIDR nor a host name (the CRD schema refuses them first). */
  constructor(readonly allow: readonly string[] = []) {
    for (const entry of allow) {
      const cidr = EGRESS_CIDR.exec(entry);
      if (cidr !== null) {
        const [, net = '', prefix = ''] = cidr;
        const family = isIP(net);
        const bits = Number(prefix);
        if (family === 0 || bits > (family === 4 ? 32 : 128))
          throw new Error(`egress.allow: ${entry} is not a valid CIDR`);
        this.cidrs.addSubnet(net, bits, family === 4 ? 'ipv4' : 'ipv6');
      } else if (entry.startsWith('*.')) this.suffixes.push(entry.slice(1).toLowerCase());
      else this.hosts.add(entry.toLowerCase());
    }
  }

  /** Whether `host` (a name, not an address) is on the allow-list by name. */
  private hostAllowed(host: string): boolean {
    const h = host.toLowerCase().replace(/\.$/, '');
    return this.hosts.has(h) || this.suffixes.some((s) => h.endsWith(s));
  }

  /** Why connecting to `address` for `host` is refused, or undefined when it is allowed. */
  refusal(host: string, address: string): string | undefined {
    const reason = nonPublicReason(address);
    if (reason === undefined) return undefined;
    if (this.cidrs.check(address, familyOf(address))) return undefined;
    if (isIP(host) === 0 && !NEVER_BY_NAME.has(reason) && this.hostAllowed(host)) return undefined;
    return reason;
  }
}

/** The error a refused connection fails with: its message names the reason, never the address. */
export class EgressRefused extends Error {
  readonly code = 'BEASTMODE_EGRESS_REFUSED';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: string,
  ) {
    super(`the gateway's egress policy refuses ${reason} addresses for this backend`);
  }
}

export interface EgressGuard {
  /** The policy in force (it follows the config). */
  policy: () => EgressPolicy;
  /** Told of every refused connection (metrics, logs). */
  refused?: (e: EgressRefused) => void;
  /** For tests: the resolver (default dns.lookup, every address). */
  lookup?: (host: string) => Promise<LookupAddress[]>;
}

const systemLookup = (host: string): Promise<LookupAddress[]> =>
  new Promise((resolve, reject) =>
    dnsLookup(host, { all: true, order: 'verbatim' }, (err, addresses) =>
      err ? reject(err) : resolve(addresses),
    ),
  );

/** The address to connect to for `host`, after the policy allowed every address it resolves to. */
export async function checkedAddress(guard: EgressGuard, host: string): Promise<string> {
  const bare = host.startsWith('[') ? host.slice(1, -1) : host;
  const addresses =
    isIP(bare) !== 0 ? [bare] : (await (guard.lookup ?? systemLookup)(bare)).map((a) => a.address);
  if (addresses.length === 0) throw new Error(`${bare} resolves to no address`);
  const policy = guard.policy();
  for (const address of addresses) {
    const reason = policy.refusal(bare, address);
    if (reason !== undefined) {
      const e = new EgressRefused(bare, address, reason);
      guard.refused?.(e);
      throw e;
    }
  }
  return addresses[0] as string;
}

/**
 * An undici connector that checks the policy first and connects to the address it checked. TLS still
 * verifies the certificate against the host name (undici derives the SNI name from the Host).
 */
export function guardedConnector(
  guard: EgressGuard,
  options: buildConnector.BuildOptions = {},
): buildConnector.connector {
  const connect = buildConnector(options);
  return (opts, callback) => {
    checkedAddress(guard, opts.hostname).then(
      (address) => connect({ ...opts, hostname: address }, callback),
      (err: Error) => callback(err, null),
    );
  };
}
