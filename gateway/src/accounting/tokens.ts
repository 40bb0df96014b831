// Token estimates for admission (prompt size, worst-case output) and token counts for responses whose
// provider did not report usage. Counts with the o200k_base encoding (GPT-4o and later), its vocabulary
// outside the V8 heap (bpe-counter.ts); for other model families it is an estimate, which is why admission
// reserves a worst case and settle corrects it.
//
// The encoding is loaded on first use, not at start: it takes ~250 ms, and a gateway whose routes have no
// limits or budgets needs it only for the rare answer without usage (the gateway asks upstreams for usage on
// streams too). The policy layer loads it when a config with limits or budgets is applied, before any
// request needs it.
import type { ChatRequest, Usage } from '../policy/types.js';
import { BpeCounter } from './bpe-counter.js';

let tokenizer: BpeCounter | undefined;

/** Loads the encoding now (synchronously, once), so that no request pays for it later. */
export function loadTokenizer(): BpeCounter {
  tokenizer ??= new BpeCounter();
  return tokenizer;
}

/** Per-message framing overhead of the chat format (role markers). */
const PER_MESSAGE_TOKENS = 4;
/** Reply priming. */
const PER_REQUEST_TOKENS = 3;
/** Upper bound for one image input (high detail, largest tiling of GPT-4o-class models). */
export const IMAGE_TOKEN_BOUND = 1500;

export interface Pricing {
  inputPerMillionTokens: number;
  outputPerMillionTokens: number;
}

/** Tokens of `text`; special-token text in user content ("<|endoftext|>") counts as plain text. */
export function countTextTokens(text: string): number {
  if (text === '') return 0;
  return loadTokenizer().count(text);
}

function contentTokens(content: unknown): number {
  if (typeof content === 'string') return countTextTokens(content);
  if (!Array.isArray(content)) return content == null ? 0 : countTextTokens(JSON.stringify(content));
  let total = 0;
  for (const part of content as unknown[]) {
    if (typeof part !== 'object' || part === null) continue;
    const p = part as Record<string, unknown>;
    if (typeof p.text === 'string') total += countTextTokens(p.text);
    else if (p.type === 'image_url' || p.type === 'image') total += IMAGE_TOKEN_BOUND;
    // Other parts (audio, files) carry base64 data: a byte-based bound, without tokenizing the payload.
    else total += Math.ceil(JSON.stringify(p).length / 3);
  }
  return total;
}

/** Prompt tokens of a chat request: messages, names, tool calls and tool definitions. */
export function estimatePromptTokens(request: ChatRequest): number {
  let total = PER_REQUEST_TOKENS;
  const messages = Array.isArray(request.messages) ? (request.messages as unknown[]) : [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const msg = m as Record<string, unknown>;
    total += PER_MESSAGE_TOKENS + contentTokens(msg.content);
    if (typeof msg.role === 'string') total += countTextTokens(msg.role);
    if (typeof msg.name === 'string') total += countTextTokens(msg.name);
    if (msg.tool_calls !== undefined) total += countTextTokens(JSON.stringify(msg.tool_calls));
  }
  if (request.tools !== undefined) total += countTextTokens(JSON.stringify(request.tools));
  if (request.response_format !== undefined)
    total += countTextTokens(JSON.stringify(request.response_format));
  return total;
}

function positiveInt(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined;
}

/**
 * The most output tokens a request can produce: max_completion_tokens (or max_tokens, or the bounded
 * default when neither is set) times n choices.
 */
export function maxOutputTokens(request: ChatRequest, defaultMax: number): number {
  const perChoice =
    positiveInt(request.max_completion_tokens) ?? positiveInt(request.max_tokens) ?? defaultMax;
  const n = positiveInt(request.n) ?? 1;
  return perChoice * n;
}

export function costUsd(usage: Usage, pricing: Pricing): number {
  return (
    (usage.input * pricing.inputPerMillionTokens + usage.output * pricing.outputPerMillionTokens) / 1_000_000
  );
}
