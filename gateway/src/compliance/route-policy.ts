// A route's compliance policy applied to one request, before its first upstream attempt: which backends of
// the plan may receive it at all (allowed providers and regions, a class whose PII action blocks), the
// body each backend class receives (redacted or as written), and whether the request may reach the cache.
// Pure: compiled route data and the parsed body in, a screening out; the pipeline answers refusals and the
// attempts read the body of their backend's class.
import { classOfUrl, type CompiledBackend, type CompiledRoute } from '../../../api/v1alpha1/index.js';
import type { Endpoint } from '../providers/types.js';
import { redactChatRequest, type ChatRedaction } from './chat-request.js';
import type { DetectorName } from './detectors.js';
import {
  activeDetectors,
  newRedactionState,
  redactText,
  type BackendClass,
  type Counts,
  type DetectorPolicy,
  type PiiAction,
  type RestoreMap,
} from './redact.js';

/** A route's compiled compliance policy. */
export type CompiledCompliance = NonNullable<CompiledRoute['compliance']>;

/** What a backend of one class is sent. */
export interface ClassBody {
  body: Record<string, unknown>;
  restore: RestoreMap;
  counts: Counts;
  /** Values replaced by placeholders. */
  redactions: number;
}

/** One request's screening, read by each attempt (`bodyFor`). */
export interface CompliancePass {
  readonly byClass: Partial<Record<BackendClass, ClassBody>>;
  /** Put redacted values back into the answer. */
  readonly restore: boolean;
}

export type ComplianceRefusal =
  { kind: 'not-allowed'; backends: string[] } | { kind: 'blocked'; detectors: DetectorName[] };

export interface Screening {
  /** The plan's backends that may receive the request, in the plan's order. */
  plan: readonly CompiledBackend[];
  /** Set when none may: the answer the client gets. */
  refusal?: ComplianceRefusal;
  pass: CompliancePass;
  /** A detector found something in the request (redacted or blocked). */
  piiFound: boolean;
  /** Detections per class actually evaluated, for metrics: counts redacted and detectors that blocked. */
  detections: { redacted: Counts; blocked: DetectorName[] };
}

/** A compiled backend's class: compiled on routes with a policy; a hand-written config's read from its URL. */
export const classOf = (b: CompiledBackend): BackendClass => b.class ?? classOfUrl(b.url);

/** Whether the route's provider and region lists admit a backend (a canary candidate is checked here). */
export function backendAllowed(c: CompiledCompliance, b: CompiledBackend): boolean {
  if (c.allowedProviders !== undefined && !c.allowedProviders.includes(b.provider)) return false;
  if (c.allowedRegions === undefined) return true;
  return b.region !== undefined && c.allowedRegions.includes(b.region);
}

/** The detector policy of one backend class: the listed detectors take the class's action, others allow. */
export function detectorPolicy(
  pii: NonNullable<CompiledCompliance['pii']>,
  cls: BackendClass,
): DetectorPolicy {
  const action: PiiAction = cls === 'hosted' ? pii.hosted : pii.inCluster;
  const detectors: Partial<Record<DetectorName, PiiAction>> = {};
  for (const d of pii.detectors) detectors[d] = action;
  return { default: 'allow', detectors };
}

/**
 * The completions `prompt` and embeddings `input` as a string or a list of strings (token-id lists carry
 * no text to read and pass as they are).
 */
function redactPromptField(
  body: Record<string, unknown>,
  field: 'prompt' | 'input',
  policy: DetectorPolicy,
): ChatRedaction {
  const state = newRedactionState();
  const counts: Counts = {};
  const one = (v: unknown): { value: unknown } | { blocked: DetectorName[] } => {
    if (typeof v !== 'string') return { value: v };
    const r = redactText(v, policy, state);
    if (r.kind === 'blocked') return { blocked: r.detectors };
    for (const [d, n] of Object.entries(r.counts) as [DetectorName, number][])
      counts[d] = (counts[d] ?? 0) + n;
    return { value: r.text };
  };
  const value = body[field];
  const items = Array.isArray(value) ? value : [value];
  const out: unknown[] = [];
  for (const item of items) {
    const r = one(item);
    if ('blocked' in r) return { kind: 'blocked', detectors: r.blocked };
    out.push(r.value);
  }
  const changed = out.some((v, i) => v !== items[i]);
  const next = !changed ? body : { ...body, [field]: Array.isArray(value) ? out : out[0] };
  return { kind: 'redacted', body: next, restore: state.restore, counts };
}

/** Redacts the text an endpoint's request carries. */
export function redactRequest(
  endpoint: Endpoint,
  body: Record<string, unknown>,
  policy: DetectorPolicy,
): ChatRedaction {
  switch (endpoint) {
    case 'chat':
      return redactChatRequest(body, policy);
    case 'completions':
      return redactPromptField(body, 'prompt', policy);
    case 'embeddings':
      return redactPromptField(body, 'input', policy);
    default: {
      const never: never = endpoint;
      throw new Error(`unknown endpoint ${String(never)}`);
    }
  }
}

const total = (counts: Counts): number => Object.values(counts).reduce((a, n) => a + (n ?? 0), 0);

/**
 * Screens a request against its route's policy over the backends of its plan: backends outside the
 * allowed providers and regions are dropped, then those whose class blocks what the request carries.
 * Each class present in the plan is redacted once, so a fallback to another class gets its own body.
 */
export function screenRequest(
  c: CompiledCompliance,
  endpoint: Endpoint,
  body: Record<string, unknown>,
  plan: readonly CompiledBackend[],
): Screening {
  const allowed = plan.filter((b) => backendAllowed(c, b));
  const byClass: Partial<Record<BackendClass, ClassBody>> = {};
  const blockedBy = new Map<BackendClass, DetectorName[]>();
  const detections = { redacted: {} as Counts, blocked: [] as DetectorName[] };
  let piiFound = false;
  const pii = c.pii;
  for (const cls of new Set(allowed.map(classOf))) {
    const policy = pii === undefined ? undefined : detectorPolicy(pii, cls);
    if (policy === undefined || activeDetectors(policy).length === 0) {
      byClass[cls] = { body, restore: new Map(), counts: {}, redactions: 0 };
      continue;
    }
    const r = redactRequest(endpoint, body, policy);
    if (r.kind === 'blocked') {
      piiFound = true;
      blockedBy.set(cls, r.detectors);
      for (const d of r.detectors) if (!detections.blocked.includes(d)) detections.blocked.push(d);
      continue;
    }
    const redactions = total(r.counts);
    if (redactions > 0) piiFound = true;
    // Placeholders are counted for the class that receives them; a value allowed through is not.
    for (const [d, n] of Object.entries(r.counts) as [DetectorName, number][])
      detections.redacted[d] = Math.max(detections.redacted[d] ?? 0, n);
    byClass[cls] = {
      body: r.body as Record<string, unknown>,
      restore: r.restore,
      counts: r.counts,
      redactions,
    };
  }
  const sendable = allowed.filter((b) => !blockedBy.has(classOf(b)));
  const pass: CompliancePass = { byClass, restore: pii?.restore ?? false };
  const screening: Screening = { plan: sendable, pass, piiFound, detections };
  if (plan.length > 0 && allowed.length === 0)
    return { ...screening, refusal: { kind: 'not-allowed', backends: plan.map((b) => b.name) } };
  if (allowed.length > 0 && sendable.length === 0)
    return { ...screening, refusal: { kind: 'blocked', detectors: detections.blocked } };
  return screening;
}

/** The body an attempt on backend `b` sends, with its restore map and redaction count. */
export function bodyFor(pass: CompliancePass, b: CompiledBackend): ClassBody | undefined {
  return pass.byClass[classOf(b)];
}

/** Whether the response cache may see the request (lookup and store). */
export const cacheAllowed = (c: CompiledCompliance, s: Screening): boolean =>
  !s.piiFound || c.retention.storePromptsWithPII;

/** A cache entry's lifetime under the route's retention bound. */
export const retainedTtlMs = (c: CompiledCompliance, ttlMs: number): number =>
  c.retention.maxCacheTtlMs === undefined ? ttlMs : Math.min(ttlMs, c.retention.maxCacheTtlMs);

/**
 * The text a route's embeddings server (the semantic cache's, the quality-cost router's) may receive: it
 * reads the prompt before the screening, so on a route with a PII policy a hosted server (by the backend
 * class rules on its URL) gets it redacted as the hosted class would, a blocking detector redacting too;
 * an in-cluster server, and every server of a route without a policy, the text as written.
 */
export function embedderText(c: CompiledCompliance | undefined, url: string, text: string): string {
  const pii = c?.pii;
  if (pii === undefined || pii.hosted === 'allow' || classOfUrl(url) === 'in-cluster') return text;
  const detectors: Partial<Record<DetectorName, PiiAction>> = {};
  for (const d of pii.detectors) detectors[d] = 'redact';
  const r = redactText(text, { default: 'allow', detectors });
  return r.kind === 'redacted' ? r.text : '';
}
