// The compliance stage of the pipeline, for routes with a compliance policy: screens the attempt plan
// (compliance/route-policy.ts), counts what it found, and turns a refusal into the client's error. Routes
// without a policy never reach it.
import {
  cacheAllowed,
  retainedTtlMs,
  screenRequest,
  type CompiledCompliance,
  type CompliancePass,
} from '../compliance/route-policy.js';
import type { CacheLookup } from '../cache/response-cache.js';
import type { RuntimeBackend, RuntimeRoute } from '../config/load.js';
import type { Endpoint } from '../providers/types.js';
import { countComplianceRefusal, countDetections } from '../security/compliance-events.js';
import type { SecurityMetrics } from '../security/security-metrics.js';
import { gatewayError, type GatewayError } from './errors.js';

export interface ScreenedPlan {
  /** The plan's backends that may receive the request. */
  plan: RuntimeBackend[];
  pass: CompliancePass;
  /** The request may be looked up in and stored to the response cache. */
  cache: boolean;
  refusal?: GatewayError;
}

export function screenPlan(
  route: RuntimeRoute,
  c: CompiledCompliance,
  endpoint: Endpoint,
  body: Record<string, unknown>,
  plan: readonly RuntimeBackend[],
  metrics: SecurityMetrics,
): ScreenedPlan {
  const s = screenRequest(
    c,
    endpoint,
    body,
    plan.map((b) => b.spec),
  );
  const spec = route.spec;
  countDetections(metrics, spec, s.detections.redacted, s.detections.blocked);
  const kept = new Set(s.plan);
  const out: ScreenedPlan = {
    plan: plan.filter((b) => kept.has(b.spec)),
    pass: s.pass,
    cache: cacheAllowed(c, s),
  };
  const r = s.refusal;
  if (r === undefined) return out;
  switch (r.kind) {
    case 'not-allowed':
      countComplianceRefusal(metrics, spec, 'backend-not-allowed');
      return {
        ...out,
        refusal: gatewayError(
          403,
          `no backend of model ${spec.model} that could serve this request is allowed by the compliance policy ` +
            `of route ${spec.namespace}/${spec.name} (allowedProviders, allowedRegions): ${r.backends.join(', ')}`,
          'compliance_refused',
        ),
      };
    case 'blocked':
      countComplianceRefusal(metrics, spec, 'pii-blocked');
      return {
        ...out,
        refusal: gatewayError(
          400,
          `the request carries data that the compliance policy of route ${spec.namespace}/${spec.name} blocks ` +
            `(detectors: ${r.detectors.join(', ')}); remove it and retry`,
          'pii_blocked',
        ),
      };
    default: {
      const never: never = r;
      throw new Error(`unknown refusal ${JSON.stringify(never)}`);
    }
  }
}

/** A cache miss whose entry will live no longer than the route's retention allows. */
export function retainedLookup<L extends CacheLookup<RuntimeBackend>>(lookup: L, c: CompiledCompliance): L {
  return lookup.result === 'miss' ? { ...lookup, ttlMs: retainedTtlMs(c, lookup.ttlMs) } : lookup;
}
