// Redaction of an OpenAI chat completion request body: every text a backend would read (system,
// developer, user, assistant and tool message content, as a string or as text parts) goes through one
// redaction state, so a value has one placeholder across the conversation. The input is never mutated:
// changed messages and parts are copied, everything else is shared.
import type { DetectorName } from './detectors.js';
import {
  newRedactionState,
  redactText,
  type Counts,
  type DetectorPolicy,
  type RedactionState,
  type RestoreMap,
} from './redact.js';

const REDACTED_ROLES = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

export type ChatRedaction =
  | { kind: 'redacted'; body: unknown; restore: RestoreMap; counts: Counts }
  | { kind: 'blocked'; detectors: DetectorName[] };

type Walked = { message: unknown } | { blocked: DetectorName[] };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function addCounts(into: Counts, from: Counts): void {
  for (const [d, n] of Object.entries(from) as [DetectorName, number][]) into[d] = (into[d] ?? 0) + n;
}

/** Redacts one message's content; returns the message itself when nothing changed. */
function redactMessage(
  message: unknown,
  policy: DetectorPolicy,
  state: RedactionState,
  counts: Counts,
): Walked {
  if (!isRecord(message) || typeof message.role !== 'string' || !REDACTED_ROLES.has(message.role)) {
    return { message };
  }
  const content = message.content;
  if (typeof content === 'string') {
    const r = redactText(content, policy, state);
    if (r.kind === 'blocked') return { blocked: r.detectors };
    addCounts(counts, r.counts);
    return { message: r.text === content ? message : { ...message, content: r.text } };
  }
  if (!Array.isArray(content)) return { message };
  let changed = false;
  const parts: unknown[] = [];
  for (const part of content) {
    if (!isRecord(part) || part.type !== 'text' || typeof part.text !== 'string') {
      parts.push(part);
      continue;
    }
    const r = redactText(part.text, policy, state);
    if (r.kind === 'blocked') return { blocked: r.detectors };
    addCounts(counts, r.counts);
    changed ||= r.text !== part.text;
    parts.push(r.text === part.text ? part : { ...part, text: r.text });
  }
  return { message: changed ? { ...message, content: parts } : message };
}

/**
 * Walks a parsed chat request. A body that is not a chat request (no `messages` array) comes back as it
 * is: shape validation belongs to the request parser, not here. The first message a blocking detector
 * fires on stops the walk.
 */
export function redactChatRequest(body: unknown, policy: DetectorPolicy): ChatRedaction {
  const state = newRedactionState();
  const counts: Counts = {};
  if (!isRecord(body) || !Array.isArray(body.messages)) {
    return { kind: 'redacted', body, restore: state.restore, counts };
  }
  let changed = false;
  const messages: unknown[] = [];
  for (const m of body.messages) {
    const r = redactMessage(m, policy, state, counts);
    if ('blocked' in r) return { kind: 'blocked', detectors: r.blocked };
    changed ||= r.message !== m;
    messages.push(r.message);
  }
  return { kind: 'redacted', body: changed ? { ...body, messages } : body, restore: state.restore, counts };
}
