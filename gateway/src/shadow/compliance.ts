// A mirrored call on a route with a compliance policy goes through the same screening as a live attempt:
// the shadow backend must be allowed (providers, regions), and is sent the body its class may receive
// (redacted or as written). Its answer is restored like the client's before they are compared.
import { restoreJsonText } from '../compliance/answer-restore.js';
import { bodyFor, screenRequest } from '../compliance/route-policy.js';
import type { RuntimeRoute } from '../config/load.js';
import type { Endpoint } from '../providers/types.js';
import type { RuntimeShadow } from './runtime.js';

export interface ShadowBody {
  body: Record<string, unknown>;
  /** Puts the redacted values back into the shadow's answer text (identity without a policy). */
  restore: (text: string) => string;
}

const AS_WRITTEN = (text: string): string => text;

/** What the shadow is sent, or undefined when the route's policy does not let it receive the request. */
export function shadowBody(
  route: RuntimeRoute,
  s: RuntimeShadow,
  endpoint: Endpoint,
  body: Record<string, unknown>,
): ShadowBody | undefined {
  const c = route.spec.compliance;
  if (c === undefined) return { body, restore: AS_WRITTEN };
  const backend = { ...s.spec.backend, variant: 'canary' as const, weight: 0 };
  const screened = screenRequest(c, endpoint, body, [backend]);
  if (screened.plan.length === 0) return undefined;
  const sent = bodyFor(screened.pass, backend);
  if (sent === undefined) return undefined;
  const map = sent.restore;
  const restore =
    screened.pass.restore && map.size > 0 ? (text: string) => restoreJsonText(text, map) : AS_WRITTEN;
  return { body: sent.body, restore };
}
