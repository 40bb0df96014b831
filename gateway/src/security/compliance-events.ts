// The compliance events of the request path, counted: values a route's PII policy found (by detector and
// action) and requests its policy refused. Only detector names and route names reach labels, never a
// value or a prompt.
import type { DetectorName } from '../compliance/detectors.js';
import type { Counts } from '../compliance/redact.js';
import type { SecurityMetrics } from './security-metrics.js';

export type ComplianceRefusalReason = 'pii-blocked' | 'backend-not-allowed';

interface RouteRef {
  namespace: string;
  name: string;
}

/** What a request's screening found: redacted values per detector, and the detectors that blocked. */
export function countDetections(
  metrics: SecurityMetrics,
  route: RouteRef,
  redacted: Counts,
  blocked: readonly DetectorName[],
): void {
  const { namespace, name } = route;
  for (const [detector, n] of Object.entries(redacted) as [DetectorName, number][])
    if (n > 0) metrics.piiDetections.inc({ namespace, route: name, detector, action: 'redact' }, n);
  for (const detector of blocked)
    metrics.piiDetections.inc({ namespace, route: name, detector, action: 'block' });
}

export function countComplianceRefusal(
  metrics: SecurityMetrics,
  route: RouteRef,
  reason: ComplianceRefusalReason,
): void {
  metrics.complianceRefusals.inc({ namespace: route.namespace, route: route.name, reason });
}
