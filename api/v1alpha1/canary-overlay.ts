// How a Canary's status changes its route in the GatewayConfig: the stable spec it recorded is served as
// stable, the candidate as the canary variant at the status weight, and in its shadow phase the candidate
// receives mirrored requests only.
import type { z } from 'zod';
import type { Canary, CohortMatch } from './canary.js';
import type { Backend } from './modelroute.js';
import { shadowPhaseOverlay, type ShadowOverlay } from './shadow.js';

/** How a canary changes one backend of a route while it rolls out. */
export interface CanaryOverlay {
  backend: string;
  stable: Backend;
  candidate: Backend;
  weight: number;
  revision: string;
  match?: z.infer<typeof CohortMatch>[];
  shadow?: ShadowOverlay;
}

/**
 * The overlay a Canary's status puts on its route: once a canary has recorded the stable spec of its
 * backend, that spec is what the route serves as stable (whatever the route's spec now says), and the
 * candidate is served as the canary variant at the status weight. Without a recorded stable spec, the
 * route is served as written.
 */
export function canaryOverlayFor(canary: Canary): CanaryOverlay | undefined {
  const st = canary.status;
  if (!st?.stableBackend) return undefined;
  const weight = st.canaryWeight ?? 0;
  const candidate = st.candidateBackend;
  return {
    backend: canary.spec.backend,
    stable: st.stableBackend,
    candidate: candidate && weight > 0 ? candidate : st.stableBackend,
    weight: candidate && weight > 0 ? weight : 0,
    revision: (weight > 0 ? st.candidateRevision : st.stableRevision) ?? '',
    ...(canary.spec.match ? { match: canary.spec.match } : {}),
    ...shadowPhaseOverlay(canary),
  };
}
