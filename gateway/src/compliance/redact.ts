// Redaction of detected values into stable placeholders, and their restoration in an answer (whole or
// streamed). Policy is per detector: redact (replace with a placeholder), block (refuse the request, naming
// the detector and never the value), allow (leave it and do not even look). Pure apart from the state a
// caller threads through one request so the same value gets the same placeholder in every message.
import { detect, DETECTORS, type DetectorName } from './detectors.js';

export type PiiAction = 'redact' | 'block' | 'allow';

/** What to do per detector; a detector not named takes `default`. */
export interface DetectorPolicy {
  default: PiiAction;
  detectors?: Partial<Record<DetectorName, PiiAction>>;
}

/** Where a backend runs decides what it may see: in-cluster backends can be trusted with more. */
export type BackendClass = 'in-cluster' | 'hosted';
export type PolicyByBackendClass = Readonly<Record<BackendClass, DetectorPolicy>>;

export function policyFor(policies: PolicyByBackendClass, backendClass: BackendClass): DetectorPolicy {
  switch (backendClass) {
    case 'in-cluster':
    case 'hosted':
      return policies[backendClass];
    default: {
      const unknown: never = backendClass;
      throw new Error(`unknown backend class ${String(unknown)}: use in-cluster or hosted`);
    }
  }
}

export function actionFor(policy: DetectorPolicy, detector: DetectorName): PiiAction {
  return policy.detectors?.[detector] ?? policy.default;
}

/** Detectors that must run under a policy: allowed ones are skipped, so an all-allow policy costs nothing. */
export function activeDetectors(policy: DetectorPolicy): DetectorName[] {
  return DETECTORS.filter((d) => actionFor(policy, d) !== 'allow');
}

const LABELS: Readonly<Record<DetectorName, string>> = {
  email: 'EMAIL',
  phone: 'PHONE',
  card: 'CARD',
  iban: 'IBAN',
  us_ssn: 'SSN',
  uk_nino: 'NINO',
  es_dni: 'DNI',
  nl_bsn: 'BSN',
  ipv4: 'IPV4',
  ipv6: 'IPV6',
  secret: 'SECRET',
};

/** placeholder ("[EMAIL_1]") → original value, for one request. */
export type RestoreMap = ReadonlyMap<string, string>;

/** One request's placeholders: shared by every message so a value keeps its name across turns. */
export interface RedactionState {
  byValue: Map<string, string>;
  restore: Map<string, string>;
  next: Map<DetectorName, number>;
}

export function newRedactionState(): RedactionState {
  return { byValue: new Map(), restore: new Map(), next: new Map() };
}

export type Counts = Partial<Record<DetectorName, number>>;

export type RedactResult =
  { kind: 'redacted'; text: string; counts: Counts } | { kind: 'blocked'; detectors: DetectorName[] };

/** How to read a text that is not plain (the JSON text of tool-call arguments). */
export interface TextReading {
  /** What the detectors read: the text's length, with what is not content masked (JSON escapes). */
  detectIn: string;
  /** A value as written in the text → the value itself (JSON-unescaped). */
  valueOf: (written: string) => string;
}

/**
 * Redacts one text under a policy. When any blocking detector fires the text is refused whole (nothing is
 * redacted, the state is untouched) and only the detector names come back.
 */
export function redactText(
  text: string,
  policy: DetectorPolicy,
  state: RedactionState = newRedactionState(),
  reading?: TextReading,
): RedactResult {
  const spans = detect(reading?.detectIn ?? text, activeDetectors(policy));
  const blocked = [
    ...new Set(spans.filter((s) => actionFor(policy, s.detector) === 'block').map((s) => s.detector)),
  ];
  if (blocked.length > 0) return { kind: 'blocked', detectors: blocked };
  const counts: Counts = {};
  let out = '';
  let at = 0;
  for (const s of spans) {
    const written = text.slice(s.start, s.end);
    const value = reading === undefined ? written : reading.valueOf(written);
    out += text.slice(at, s.start) + placeholderFor(state, s.detector, value);
    at = s.end;
    counts[s.detector] = (counts[s.detector] ?? 0) + 1;
  }
  return { kind: 'redacted', text: spans.length === 0 ? text : out + text.slice(at), counts };
}

function placeholderFor(state: RedactionState, detector: DetectorName, value: string): string {
  // Keyed by detector too: the same digits read as a phone and as a BSN are different facts.
  const key = `${detector}\u0000${value}`;
  const known = state.byValue.get(key);
  if (known !== undefined) return known;
  const n = (state.next.get(detector) ?? 0) + 1;
  state.next.set(detector, n);
  const placeholder = `[${LABELS[detector]}_${n}]`;
  state.byValue.set(key, placeholder);
  state.restore.set(placeholder, value);
  return placeholder;
}

const PLACEHOLDER = /\[[A-Z0-9]+_\d+\]/g;

/** Puts the original values back; a placeholder the map does not know (the model made it up) stays. */
export function restore(text: string, map: RestoreMap): string {
  if (map.size === 0) return text;
  return text.replace(PLACEHOLDER, (p) => map.get(p) ?? p);
}

// Longest possible placeholder: "[" + label + "_" + up to 6 digits + "]". Anything longer cannot be one,
// so the restorer never holds back more than this many characters.
const MAX_PLACEHOLDER = 2 + Math.max(...Object.values(LABELS).map((l) => l.length)) + 1 + 6;
const PARTIAL_PLACEHOLDER = /\[[A-Z0-9]*(?:_\d*)?$/;

/**
 * Restores placeholders in a streamed answer. A chunk may end inside a placeholder ("… [EMA" + "IL_1] …"),
 * so the restorer holds back only a tail that could still become one and emits everything else at once.
 */
export class StreamRestorer {
  private pending = '';

  constructor(private readonly map: RestoreMap) {}

  /** Whether a tail is held back, waiting to be told whether it is a placeholder. */
  get holding(): boolean {
    return this.pending !== '';
  }

  push(chunk: string): string {
    const text = this.pending + chunk;
    const open = text.lastIndexOf('[');
    const tail = open === -1 ? '' : text.slice(open);
    if (tail !== '' && tail.length < MAX_PLACEHOLDER && PARTIAL_PLACEHOLDER.test(tail)) {
      this.pending = tail;
      return restore(text.slice(0, open), this.map);
    }
    this.pending = '';
    return restore(text, this.map);
  }

  /** The held-back tail at the end of the stream, as it was: it never became a placeholder. */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }
}
