// Comparing a shadow's answer with the one the client got: the text of each answer (from an OpenAI-format
// JSON body, or the deltas of a stream) and whether two texts agree under a compare mode. Pure.
import type { ShadowCompareMode } from '../../../api/v1alpha1/index.js';

/**
 * The answer text of an OpenAI-format chat or completions body: the first choice's message content (or
 * text); undefined when the body has none (an embeddings answer, a tool call without content).
 */
export function answerText(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const choice = firstChoice(parsed);
  if (choice === undefined) return undefined;
  const message = choice.message;
  if (typeof message === 'object' && message !== null) {
    const content = (message as Record<string, unknown>).content;
    return typeof content === 'string' ? content : undefined;
  }
  return typeof choice.text === 'string' ? choice.text : undefined;
}

function firstChoice(body: unknown): Record<string, unknown> | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const choices = (body as Record<string, unknown>).choices;
  if (!Array.isArray(choices)) return undefined;
  const c: unknown = choices[0];
  return typeof c === 'object' && c !== null ? (c as Record<string, unknown>) : undefined;
}

/**
 * Collects the answer text of a streamed answer from the SSE text written to the client: the first
 * choice's delta contents (or texts), in order.
 */
export class StreamedText {
  private pending = '';
  private readonly parts: string[] = [];

  push(sse: string): void {
    this.pending += sse;
    let end = this.pending.indexOf('\n\n');
    while (end >= 0) {
      this.event(this.pending.slice(0, end));
      this.pending = this.pending.slice(end + 2);
      end = this.pending.indexOf('\n\n');
    }
  }

  text(): string {
    return this.parts.join('');
  }

  private event(frame: string): void {
    if (!frame.startsWith('data: ')) return;
    const data = frame.slice(6);
    if (data === '[DONE]') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const choice = firstChoice(parsed);
    if (choice === undefined || (choice.index !== undefined && choice.index !== 0)) return;
    const delta = choice.delta;
    if (typeof delta === 'object' && delta !== null) {
      const content = (delta as Record<string, unknown>).content;
      if (typeof content === 'string') this.parts.push(content);
    } else if (typeof choice.text === 'string') this.parts.push(choice.text);
  }
}

/** Case folded, punctuation dropped, runs of white space made one space, trimmed. */
export function normalise(text: string): string {
  return text
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The top-level keys of a JSON object text, sorted; [] for other JSON; undefined when not JSON. */
function jsonShape(text: string): string[] | undefined {
  const t = text
    .trim()
    .replace(/^```(?:json)?\s*/i, '')
    .replace(/\s*```$/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(t);
  } catch {
    return undefined;
  }
  return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
    ? Object.keys(parsed).sort()
    : [];
}

/** Both JSON (with the same top-level keys) or both not, and lengths within ±50% of the client's. */
export function sameFormat(primary: string, shadow: string): boolean {
  const a = jsonShape(primary);
  const b = jsonShape(shadow);
  if ((a === undefined) !== (b === undefined)) return false;
  if (a !== undefined && b !== undefined && a.join('\u0000') !== b.join('\u0000')) return false;
  const base = Math.max(primary.length, 1);
  return Math.abs(shadow.length - primary.length) <= base * 0.5;
}

/** Whether the shadow's answer agrees with the client's under `mode` (never called with "none"). */
export function agrees(mode: Exclude<ShadowCompareMode, 'none'>, primary: string, shadow: string): boolean {
  switch (mode) {
    case 'exact':
      return primary === shadow;
    case 'normalised':
      return normalise(primary) === normalise(shadow);
    case 'format':
      return sameFormat(primary, shadow);
    default: {
      const never: never = mode;
      throw new Error(`unknown compare mode ${String(never)}`);
    }
  }
}
