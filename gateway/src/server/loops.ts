// A gateway never calls itself: every upstream request carries a Via entry naming the gateway (a hash of
// its namespace/name, the same in every replica, so a loop through the gateway's own Service is caught at
// the first hop), after the Beast Mode entries of the request it serves; a request that arrives with its
// own entry, or through more gateways than MAX_GATEWAY_HOPS, is refused with 508 before anything else is
// spent on it. A backend URL pointing at the gateway thus costs one refused request, not a storm.
import { createHash } from 'node:crypto';
import type { GatewayConfig } from '../../../api/v1alpha1/index.js';
import { gatewayError, type GatewayError } from './errors.js';

/** Beast Mode gateways a request may pass through. */
export const MAX_GATEWAY_HOPS = 5;

const PREFIX = 'beastmode-';
const tokens = new WeakMap<GatewayConfig['gateway'], string>();

/** The Via pseudonym of a gateway: the same in every replica, revealing nothing of its name. */
export function viaToken(config: GatewayConfig): string {
  let t = tokens.get(config.gateway);
  if (t === undefined) {
    const { namespace, name } = config.gateway;
    t = PREFIX + createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 12);
    tokens.set(config.gateway, t);
  }
  return t;
}

/** The Beast Mode gateways a Via header names, in order. */
function gatewaysIn(via: string | string[] | undefined): string[] {
  if (via === undefined) return [];
  const text = Array.isArray(via) ? via.join(',') : via;
  if (!text.includes(PREFIX)) return [];
  const out: string[] = [];
  for (const part of text.split(',')) {
    const name = part.trim().split(/\s+/)[1];
    if (name?.startsWith(PREFIX) === true && /^beastmode-[0-9a-f]{12}$/.test(name)) out.push(name);
  }
  return out;
}

/** Why a request must not be served (it went round in a loop), or undefined. */
export function loopRefusal(via: string | string[] | undefined, self: string): GatewayError | undefined {
  const seen = gatewaysIn(via);
  if (seen.includes(self))
    return gatewayError(
      508,
      'the request came back to the gateway that sent it: a backend points at the gateway',
      'loop_detected',
    );
  if (seen.length >= MAX_GATEWAY_HOPS)
    return gatewayError(508, `the request passed through ${seen.length} gateways`, 'loop_detected');
  return undefined;
}

/** The Via header of an upstream request: the Beast Mode gateways before this one, then this one. */
export function upstreamVia(incoming: string | string[] | undefined, self: string): string {
  if (incoming === undefined) return `1.1 ${self}`;
  return [...gatewaysIn(incoming), self].map((g) => `1.1 ${g}`).join(', ');
}
