// What one upstream attempt on a compliance route reads of its request's screening: the body its backend's
// class may receive (setting x-beastmode-redactions for it), and how the answer is restored.
import type { ServerResponse } from 'node:http';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { SseRestorer, restoreJsonText } from '../compliance/answer-restore.js';
import { bodyFor, type CompliancePass } from '../compliance/route-policy.js';
import type { RuntimeBackend } from '../config/load.js';

interface AttemptRequest {
  body: Record<string, unknown>;
  res: ServerResponse;
  compliance?: CompliancePass | undefined;
}

/**
 * The body an attempt on `b` sends: the request as written on routes without a policy; on others the body
 * of b's class, or undefined when the screening did not admit that class (the attempt must not be made).
 */
export function sentBody(x: AttemptRequest, b: RuntimeBackend): Record<string, unknown> | undefined {
  if (x.compliance === undefined) return x.body;
  const sent = bodyFor(x.compliance, b.spec);
  // An earlier attempt on another class may have set it: the header describes the attempt that answers.
  if (!x.res.headersSent) {
    if (sent !== undefined && sent.redactions > 0)
      x.res.setHeader(HEADERS.redactions, String(sent.redactions));
    else x.res.removeHeader(HEADERS.redactions);
  }
  return sent?.body;
}

/** How to restore the answer of `b`, when the route restores and b's body carried placeholders. */
export function answerRestore(
  x: AttemptRequest,
  b: RuntimeBackend,
): { json(text: string): string; stream(): SseRestorer } | undefined {
  if (x.compliance === undefined || !x.compliance.restore) return undefined;
  const map = bodyFor(x.compliance, b.spec)?.restore;
  if (map === undefined || map.size === 0) return undefined;
  return { json: (text) => restoreJsonText(text, map), stream: () => new SseRestorer(map) };
}
