// Which cores run what in the scale benchmark: the load generator and the upstream simulators get cores of
// their own (a quarter each on a large machine), the gateways the rest, one core each. On a small machine
// the generator and the upstreams share the last core and the gateways take the others.

export interface CoreLayout {
  cores: number;
  /** One CPU per gateway process (or worker), in order. */
  gateways: number[];
  /** CPU list (taskset -c) of the upstream simulators. */
  upstreams: string;
  /** CPU list of vegeta. */
  loadgen: string;
  /** Upstream simulators to start: one per upstream core. */
  upstreamCount: number;
}

const list = (from: number, to: number): string => (from === to ? String(from) : `${from}-${to}`);

export function coreLayout(cores: number): CoreLayout {
  if (cores < 2) {
    return { cores, gateways: [0], upstreams: '0', loadgen: '0', upstreamCount: 1 };
  }
  if (cores < 6) {
    const last = cores - 1;
    return {
      cores,
      gateways: Array.from({ length: last }, (_, i) => i),
      upstreams: String(last),
      loadgen: String(last),
      upstreamCount: 1,
    };
  }
  const quarter = Math.max(1, Math.floor(cores / 4));
  const gatewayCores = cores - 2 * quarter;
  return {
    cores,
    gateways: Array.from({ length: gatewayCores }, (_, i) => i),
    upstreams: list(gatewayCores, gatewayCores + quarter - 1),
    loadgen: list(gatewayCores + quarter, cores - 1),
    upstreamCount: quarter,
  };
}

/** 1, 2, 4 … up to the gateway cores (and that number itself). */
export function defaultGatewayCounts(layout: CoreLayout): number[] {
  const out: number[] = [];
  for (let g = 1; g <= layout.gateways.length; g *= 2) out.push(g);
  if (out.at(-1) !== layout.gateways.length) out.push(layout.gateways.length);
  return out;
}

export function describeLayout(l: CoreLayout): string {
  const gw = l.gateways.length === 1 ? `CPU ${l.gateways[0]}` : `CPUs ${l.gateways[0]}-${l.gateways.at(-1)}`;
  return (
    `${l.cores} cores: gateways on ${gw} (one each), ${l.upstreamCount} upstream simulator(s) on CPU ${l.upstreams}, ` +
    `vegeta on CPU ${l.loadgen}`
  );
}
