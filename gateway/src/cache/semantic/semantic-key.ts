// What the semantic cache compares, and what it never lets differ. A request's last user turn (or its
// completion prompt) is the text embedded and compared; everything else — the route, the caller's scope,
// the system prompt, the earlier turns, every parameter (model, temperature, tools, response_format, …) —
// is digested into the partition key, with the vector space (the built-in embedder, or an embeddings server's
// model), so two requests can share an answer only when all of that is identical and only the wording of
// the last question differs, and vectors of different models are never compared. Requests whose last user turn is not plain
// text (images, audio) have no semantic query: the exact cache alone serves them.
import { createHash } from 'node:crypto';
import type { CompiledRoute } from '../../../../api/v1alpha1/gatewayconfig.js';
import type { Caller, ChatRequest } from '../../policy/types.js';
import { cacheScope, canonicalRequest } from '../cache-key.js';

export interface SemanticQuery {
  /** Route, scope and the request without the compared text, hashed. */
  partition: string;
  /** The compared text: the last user turn, or the completion prompt. */
  text: string;
}

/** Stands for the compared text in the partition's digest. */
const COMPARED = '\u0000compared-text';

/** A message content's text when it is text only (a string, or parts that are all text). */
function textOf(content: unknown): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  let text = '';
  for (const part of content) {
    const p = part as { type?: unknown; text?: unknown } | null;
    if (p?.type !== 'text' || typeof p.text !== 'string') return undefined;
    text += (text === '' ? '' : '\n') + p.text;
  }
  return text;
}

/** The compared text and the request with it taken out, or undefined when there is no plain-text turn. */
function split(request: ChatRequest): { text: string; rest: ChatRequest } | undefined {
  const messages = request.messages;
  if (Array.isArray(messages)) {
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i] as { role?: unknown; content?: unknown } | null;
      if (m?.role !== 'user') continue;
      const text = textOf(m.content);
      if (text === undefined || text.trim() === '') return undefined;
      const rest: unknown[] = [...(messages as unknown[])];
      rest[i] = { ...m, content: COMPARED };
      return { text, rest: { ...request, messages: rest } };
    }
    return undefined;
  }
  if (typeof request.prompt === 'string' && request.prompt.trim() !== '')
    return { text: request.prompt, rest: { ...request, prompt: COMPARED } };
  return undefined;
}

/** The vector space of a route's entries: the built-in embedder's, or an embeddings server's model. */
export function vectorSpace(route: CompiledRoute): string {
  const e = route.cache.semantic?.embeddings;
  return e === undefined ? 'builtin-v1' : `${e.url}#${e.model}#${e.dimensions ?? ''}`;
}

export function semanticQuery(
  route: CompiledRoute,
  caller: Caller,
  request: ChatRequest,
): SemanticQuery | undefined {
  const parts = split(request);
  if (parts === undefined) return undefined;
  const partition = createHash('sha256')
    .update(
      JSON.stringify([
        'bm-semantic-v1',
        `${route.namespace}/${route.name}`,
        vectorSpace(route),
        cacheScope(route.cache.scope, caller),
        canonicalRequest(parts.rest),
      ]),
    )
    .digest('hex');
  return { partition, text: parts.text };
}
