// Prompt and completion text in the shape of the GenAI semantic conventions (gen_ai.input.messages,
// gen_ai.output.messages: [{role, parts: [{type: "text", content}]}]), for the routes that capture them
// (ModelRoute spec.tracing.capturePrompts). Bounded: a trace backend takes attributes of limited size, and
// a span must never cost as much as the request. On a route with a PII policy every text goes through the
// route's trace scrub (compliance/trace-capture.ts) before it is clipped, so no value is cut in two and
// half of it recorded. Pure.
import type { TextScrub } from '../compliance/trace-capture.js';
import type { Endpoint } from '../providers/types.js';

/** The most characters kept of one text part, and the most messages kept of a request. */
export const MAX_PART_CHARS = 8192;
const MAX_MESSAGES = 64;
/** A streamed answer is collected this far past the clip, so a value at the clip is whole when scrubbed. */
const SCRUB_MARGIN = 1024;

interface Part {
  type: string;
  content?: string;
}
interface Message {
  role: string;
  parts: Part[];
  finish_reason?: string;
}

const clip = (s: string): string => (s.length > MAX_PART_CHARS ? `${s.slice(0, MAX_PART_CHARS)}…` : s);
const kept = (s: string, scrub: TextScrub | undefined): string => clip(scrub === undefined ? s : scrub(s));
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** OpenAI message content (a string, or parts) as semconv parts; images and audio are named, not copied. */
function partsOf(content: unknown, scrub: TextScrub | undefined): Part[] {
  if (typeof content === 'string') return [{ type: 'text', content: kept(content, scrub) }];
  if (!Array.isArray(content)) return [];
  return content
    .filter(isRecord)
    .map((p) =>
      p.type === 'text' && typeof p.text === 'string'
        ? { type: 'text', content: kept(p.text, scrub) }
        : { type: typeof p.type === 'string' ? p.type : 'unknown' },
    );
}

/** The request's messages (chat), prompt (completions) or input (embeddings), as JSON text. */
export function inputMessages(
  endpoint: Endpoint,
  body: Record<string, unknown>,
  scrub?: TextScrub,
): string | undefined {
  let messages: Message[];
  if (endpoint === 'chat') {
    if (!Array.isArray(body.messages)) return undefined;
    messages = body.messages
      .slice(0, MAX_MESSAGES)
      .filter(isRecord)
      .map((m) => ({ role: typeof m.role === 'string' ? m.role : 'user', parts: partsOf(m.content, scrub) }));
  } else {
    const input = endpoint === 'completions' ? body.prompt : body.input;
    const texts = (Array.isArray(input) ? input : [input]).filter((t) => typeof t === 'string');
    messages = texts.slice(0, MAX_MESSAGES).map((t) => ({ role: 'user', parts: partsOf(t, scrub) }));
  }
  return JSON.stringify(messages);
}

/** The choices of an OpenAI-format answer (chat or completions), as JSON text; none for embeddings. */
export function outputMessages(endpoint: Endpoint, answer: string, scrub?: TextScrub): string | undefined {
  if (endpoint === 'embeddings') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(answer);
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !Array.isArray(parsed.choices)) return undefined;
  const messages = parsed.choices.filter(isRecord).map((c) => {
    const text = isRecord(c.message) ? c.message.content : c.text;
    return {
      role: 'assistant',
      parts: partsOf(typeof text === 'string' ? text : '', scrub),
      ...(typeof c.finish_reason === 'string' ? { finish_reason: c.finish_reason } : {}),
    };
  });
  return JSON.stringify(messages);
}

/**
 * Collects a streamed answer's text from the SSE the client receives: the first choice's deltas (chat) or
 * texts (completions), bounded like a part.
 */
export class StreamedText {
  private text = '';
  private finish: string | undefined;

  constructor(private readonly scrub?: TextScrub) {}

  push(sse: string): void {
    for (const line of sse.split('\n')) {
      if (
        !line.startsWith('data: ') ||
        line === 'data: [DONE]' ||
        this.text.length > MAX_PART_CHARS + SCRUB_MARGIN
      )
        continue;
      try {
        const chunk = JSON.parse(line.slice(6)) as { choices?: unknown };
        const c = Array.isArray(chunk.choices) ? (chunk.choices[0] as unknown) : undefined;
        if (!isRecord(c)) continue;
        const t = isRecord(c.delta) ? c.delta.content : c.text;
        if (typeof t === 'string') this.text += t;
        if (typeof c.finish_reason === 'string') this.finish = c.finish_reason;
      } catch {
        // A chunk that is not JSON is the client's problem to see, not the trace's.
      }
    }
  }

  messages(): string {
    const m: Message = { role: 'assistant', parts: partsOf(this.text, this.scrub) };
    if (this.finish !== undefined) m.finish_reason = this.finish;
    return JSON.stringify([m]);
  }
}
