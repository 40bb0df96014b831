// What a trace may record of the text of a request on a route with a PII policy (tracing.capturePrompts):
// every detector the policy names, redacted, whatever its action per backend class, because a trace
// exporter is outside the cluster's control. One redaction state per request, so the prompt and the answer
// (restored for the client) carry the same placeholder for the same value.
import type { CompiledCompliance } from './route-policy.js';
import { newRedactionState, redactText, type DetectorPolicy, type PiiAction } from './redact.js';

/** Text as a trace may record it. */
export type TextScrub = (text: string) => string;

export function traceScrub(pii: NonNullable<CompiledCompliance['pii']>): TextScrub {
  const detectors: DetectorPolicy['detectors'] = {};
  for (const d of pii.detectors) detectors[d] = 'redact' satisfies PiiAction;
  const policy: DetectorPolicy = { default: 'allow', detectors };
  const state = newRedactionState();
  return (text) => {
    const r = redactText(text, policy, state);
    // A policy of redactions never blocks; were it to, the trace records nothing of the text.
    return r.kind === 'redacted' ? r.text : '';
  };
}
