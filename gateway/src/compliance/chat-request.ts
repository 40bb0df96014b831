// Redaction of an OpenAI chat completion request body: every text a backend would read (system,
// developer, user, assistant and tool message content, as a string or as text parts, and the arguments of
// an assistant message's tool calls) goes through one redaction state, so a value has one placeholder
// across the conversation. The input is never mutated:
// changed messages and parts are copied, everything else is shared.
import type { DetectorName } from './detectors.js';
import {
  newRedactionState,
  redactText,
  type Counts,
  type DetectorPolicy,
  type RedactionState,
  type RestoreMap,
  type TextReading,
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

/** A JSON escape sequence: masked for the detectors, so "line\njane@…" is read as "line  jane@…". */
const ESCAPE = /\\(?:u[0-9a-fA-F]{4}|[^u])/g;

/** JSON text read for its values: escapes masked, a value with escapes (a PEM key's \n) unescaped. */
function jsonReading(json: string): TextReading | undefined {
  if (!json.includes('\\')) return undefined;
  const valueOf = (written: string): string => {
    if (!written.includes('\\')) return written;
    try {
      return JSON.parse(`"${written}"`) as string;
    } catch {
      return written;
    }
  };
  return { detectIn: json.replace(ESCAPE, (e) => ' '.repeat(e.length)), valueOf };
}

/**
 * The arguments of an assistant message's tool calls, read as the JSON text they are: it keeps the context
 * a detector reads ("api_key": "…"), a placeholder is valid inside a JSON string, and escape sequences are
 * masked so that none is read as part of a value. Values are kept unescaped, as in message text, so the
 * same value has one placeholder in both and is restored escaped for where it lands.
 */
function redactToolCalls(
  calls: unknown[],
  policy: DetectorPolicy,
  state: RedactionState,
  counts: Counts,
): { calls: unknown[] } | { blocked: DetectorName[] } {
  let changed = false;
  const out: unknown[] = [];
  for (const call of calls) {
    const fn = isRecord(call) ? call.function : undefined;
    if (!isRecord(call) || !isRecord(fn) || typeof fn.arguments !== 'string') {
      out.push(call);
      continue;
    }
    const r = redactText(fn.arguments, policy, state, jsonReading(fn.arguments));
    if (r.kind === 'blocked') return { blocked: r.detectors };
    addCounts(counts, r.counts);
    changed ||= r.text !== fn.arguments;
    out.push(r.text === fn.arguments ? call : { ...call, function: { ...fn, arguments: r.text } });
  }
  return { calls: changed ? out : calls };
}

/** Redacts one message's content and tool calls; returns the message itself when nothing changed. */
function redactMessage(
  message: unknown,
  policy: DetectorPolicy,
  state: RedactionState,
  counts: Counts,
): Walked {
  if (!isRecord(message) || typeof message.role !== 'string' || !REDACTED_ROLES.has(message.role)) {
    return { message };
  }
  const content = redactContent(message.content, policy, state, counts);
  if ('blocked' in content) return content;
  let out = content.content === message.content ? message : { ...message, content: content.content };
  if (Array.isArray(message.tool_calls)) {
    const r = redactToolCalls(message.tool_calls, policy, state, counts);
    if ('blocked' in r) return r;
    if (r.calls !== message.tool_calls) out = { ...out, tool_calls: r.calls };
  }
  return { message: out };
}

/** Message content as a string or as parts (only text parts are read); the same value when unchanged. */
function redactContent(
  content: unknown,
  policy: DetectorPolicy,
  state: RedactionState,
  counts: Counts,
): { content: unknown } | { blocked: DetectorName[] } {
  if (typeof content === 'string') {
    const r = redactText(content, policy, state);
    if (r.kind === 'blocked') return { blocked: r.detectors };
    addCounts(counts, r.counts);
    return { content: r.text };
  }
  if (!Array.isArray(content)) return { content };
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
  return { content: changed ? parts : content };
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
