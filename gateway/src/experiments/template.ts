// A variant's request template applied to the body sent upstream: the system prompt replaces the first
// system message of a chat request (or goes first when it has none), the temperature overrides, and
// maxTokens caps max_tokens / max_completion_tokens (setting max_tokens when the request names neither).
// Pure: the client's body is never modified, a new one is returned.
import type { RequestTemplate } from '../../../api/v1alpha1/index.js';
import type { Endpoint } from '../providers/types.js';

function withSystemPrompt(messages: unknown, prompt: string): unknown {
  if (!Array.isArray(messages)) return messages;
  const list = messages as unknown[];
  const system = { role: 'system', content: prompt };
  const i = list.findIndex((m) => (m as { role?: unknown } | null)?.role === 'system');
  if (i === -1) return [system, ...list];
  const out = [...list];
  out[i] = { ...(list[i] as object), content: prompt };
  return out;
}

const capped = (value: unknown, cap: number): unknown =>
  typeof value === 'number' && value <= cap ? value : cap;

/** The body a variant sends upstream; embeddings requests are left as they are. */
export function applyTemplate(
  body: Record<string, unknown>,
  endpoint: Endpoint,
  template: RequestTemplate | undefined,
): Record<string, unknown> {
  if (template === undefined || endpoint === 'embeddings') return body;
  const out: Record<string, unknown> = { ...body };
  if (template.systemPrompt !== undefined && endpoint === 'chat')
    out.messages = withSystemPrompt(body.messages, template.systemPrompt);
  if (template.temperature !== undefined) out.temperature = template.temperature;
  const cap = template.maxTokens;
  if (cap !== undefined) {
    const named = ['max_tokens', 'max_completion_tokens'].filter(
      (k) => body[k] !== undefined && body[k] !== null,
    );
    if (named.length === 0) out.max_tokens = cap;
    for (const k of named) out[k] = capped(body[k], cap);
  }
  return out;
}
