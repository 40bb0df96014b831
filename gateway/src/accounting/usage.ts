// Usage of one response: what the provider reported, or — when it reported nothing (streams without
// include_usage, aborted streams, providers that omit it) — the tokens actually delivered, counted.
import { StringDecoder } from 'node:string_decoder';
import type { Usage } from '../policy/types.js';
import { SseFramer, frameData } from './sse.js';
import { countTextTokens } from './tokens.js';

function nonNegativeInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? Math.round(v) : undefined;
}

/** The `usage` of a chat completion (or chunk) object, if present and well-formed. */
export function reportedUsage(body: unknown): Usage | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const u = (body as { usage?: unknown }).usage;
  if (typeof u !== 'object' || u === null) return undefined;
  const rec = u as Record<string, unknown>;
  const promptTokens = nonNegativeInt(rec.prompt_tokens);
  const completionTokens = nonNegativeInt(rec.completion_tokens);
  if (promptTokens === undefined || completionTokens === undefined) return undefined;
  return { input: promptTokens, output: completionTokens };
}

/** Text an assistant message or delta carries: content, refusal, reasoning and tool-call arguments. */
function generatedText(m: unknown): string {
  if (typeof m !== 'object' || m === null) return '';
  const msg = m as Record<string, unknown>;
  let text = '';
  for (const field of ['content', 'refusal', 'reasoning_content', 'reasoning'] as const) {
    if (typeof msg[field] === 'string') text += msg[field];
  }
  if (Array.isArray(msg.tool_calls)) {
    for (const call of msg.tool_calls as unknown[]) {
      const fn = (call as { function?: { name?: unknown; arguments?: unknown } } | null)?.function;
      if (typeof fn?.name === 'string') text += fn.name;
      if (typeof fn?.arguments === 'string') text += fn.arguments;
    }
  }
  return text;
}

function choicesText(body: unknown, field: 'message' | 'delta'): string {
  const choices = (body as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return '';
  return choices.map((c) => generatedText((c as Record<string, unknown> | null)?.[field])).join('');
}

/** A prompt estimate, or what computes it when first needed (tokenizing a prompt costs). */
export type PromptEstimate = number | (() => number);

const estimateOf = (e: PromptEstimate): number => (typeof e === 'number' ? e : e());

/** Usage of a complete (non-streamed) response body: reported, else counted from its choices. */
export function usageOfBody(body: unknown, promptEstimate: PromptEstimate): Usage {
  return (
    reportedUsage(body) ?? {
      input: estimateOf(promptEstimate),
      output: countTextTokens(choicesText(body, 'message')),
    }
  );
}

/**
 * Follows a streamed response chunk by chunk. `usage()` is the usage the stream reported (with
 * stream_options.include_usage), or else the prompt estimate plus the tokens of what was delivered —
 * an aborted stream is billed for the part the client received. Chunks are only kept as they come: the
 * frames are parsed when usage() is asked for, which settle does only when the upstream reported none.
 */
export class StreamUsageCounter {
  private readonly chunks: string[] = [];
  /** Only for byte chunks (a character may be split between two); the gateway pushes text. */
  private decoder: StringDecoder | undefined;

  constructor(private readonly promptEstimate: PromptEstimate) {}

  push(chunk: string | Buffer): void {
    if (typeof chunk === 'string') this.chunks.push(chunk);
    else this.chunks.push((this.decoder ??= new StringDecoder('utf8')).write(chunk));
  }

  usage(): Usage {
    let reported: Usage | undefined;
    let delivered = '';
    for (const frame of new SseFramer().push(this.chunks.join(''))) {
      const data = frameData(frame);
      if (data === undefined || data === '[DONE]') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        continue;
      }
      reported = reportedUsage(parsed) ?? reported;
      delivered += choicesText(parsed, 'delta');
    }
    return reported ?? { input: estimateOf(this.promptEstimate), output: countTextTokens(delivered) };
  }
}
