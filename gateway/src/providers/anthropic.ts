// Anthropic Messages API: chat completions are translated to /v1/messages and back, including the
// system prompt, max_tokens, stop sequences, usage, and the SSE event stream (message_start,
// content_block_delta, message_delta, message_stop) into OpenAI chat.completion.chunk events.
import type {
  OpenAIErrorObject,
  ProviderAdapter,
  StreamTransformer,
  TransformContext,
  Usage,
} from './types.js';
import { UpstreamStreamError } from './types.js';
import type { SseEvent } from './sse.js';

export const ANTHROPIC_VERSION = '2023-06-01';
/** Anthropic requires max_tokens; OpenAI clients often omit it. */
export const DEFAULT_MAX_TOKENS = 4096;

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** The text of an OpenAI message content: a string or an array of parts. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((p) => (isObject(p) && p.type === 'text' && typeof p.text === 'string' ? p.text : ''))
    .join('');
}

/** OpenAI messages → Anthropic system + messages (consecutive same-role turns merged, as Anthropic wants). */
function toAnthropicMessages(messages: unknown): { system?: string; messages: Obj[] } {
  const system: string[] = [];
  const out: Obj[] = [];
  for (const m of Array.isArray(messages) ? messages : []) {
    if (!isObject(m)) continue;
    const text = textOf(m.content);
    if (m.role === 'system' || m.role === 'developer') {
      system.push(text);
      continue;
    }
    const role = m.role === 'assistant' ? 'assistant' : 'user';
    const last = out[out.length - 1];
    if (last !== undefined && last.role === role) last.content = `${String(last.content)}\n\n${text}`;
    else out.push({ role, content: text });
  }
  return system.length > 0 ? { system: system.join('\n\n'), messages: out } : { messages: out };
}

const FINISH: Record<string, string> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};
/** A map's own entry: an upstream name such as "constructor" must not read what every object inherits. */
const own = (map: Record<string, string>, key: string): string | undefined =>
  Object.hasOwn(map, key) ? map[key] : undefined;

const finishReason = (r: unknown): string | null =>
  typeof r === 'string' ? (own(FINISH, r) ?? 'stop') : null;

function chatResponse(upstream: unknown, ctx: TransformContext): unknown {
  const m = isObject(upstream) ? upstream : {};
  const blocks = Array.isArray(m.content) ? m.content : [];
  const text = blocks
    .map((b) => (isObject(b) && b.type === 'text' && typeof b.text === 'string' ? b.text : ''))
    .join('');
  const u = isObject(m.usage) ? m.usage : {};
  const input = num(u.input_tokens) + num(u.cache_read_input_tokens) + num(u.cache_creation_input_tokens);
  const output = num(u.output_tokens);
  return {
    id: typeof m.id === 'string' ? m.id : 'msg',
    object: 'chat.completion',
    created: ctx.created,
    model: typeof m.model === 'string' ? m.model : ctx.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text, refusal: null },
        logprobs: null,
        finish_reason: finishReason(m.stop_reason) ?? 'stop',
      },
    ],
    usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output },
  };
}

const ERROR_TYPES: Record<string, string> = {
  invalid_request_error: 'invalid_request_error',
  authentication_error: 'authentication_error',
  permission_error: 'permission_error',
  not_found_error: 'not_found_error',
  rate_limit_error: 'rate_limit_error',
  overloaded_error: 'server_error',
  api_error: 'server_error',
};

export function anthropicError(status: number, upstream: unknown): OpenAIErrorObject {
  const e = isObject(upstream) && isObject(upstream.error) ? upstream.error : {};
  const type = typeof e.type === 'string' ? e.type : status >= 500 ? 'api_error' : 'invalid_request_error';
  return {
    message: typeof e.message === 'string' ? e.message : `upstream answered with status ${status}`,
    type: own(ERROR_TYPES, type) ?? type,
    param: null,
    code: type,
  };
}

class AnthropicStream implements StreamTransformer {
  private id = 'msg';
  private model: string;
  private input = 0;
  private output = 0;
  private done = false;

  constructor(private readonly ctx: TransformContext) {
    this.model = ctx.model;
  }

  private chunk(delta: Obj, finish: string | null = null): string {
    return JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.ctx.created,
      model: this.model,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    });
  }

  /** The usage chunk OpenAI sends last when the client asked for stream_options.include_usage. */
  private usageChunk(): string {
    return JSON.stringify({
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.ctx.created,
      model: this.model,
      choices: [],
      usage: {
        prompt_tokens: this.input,
        completion_tokens: this.output,
        total_tokens: this.input + this.output,
      },
    });
  }

  push(event: SseEvent): string[] {
    if (this.done) return [];
    let body: Obj;
    try {
      const parsed: unknown = JSON.parse(event.data);
      body = isObject(parsed) ? parsed : {};
    } catch {
      return [];
    }
    const type = event.event ?? (typeof body.type === 'string' ? body.type : '');
    switch (type) {
      case 'message_start': {
        const m = isObject(body.message) ? body.message : {};
        if (typeof m.id === 'string') this.id = m.id;
        if (typeof m.model === 'string') this.model = m.model;
        const u = isObject(m.usage) ? m.usage : {};
        this.input =
          num(u.input_tokens) + num(u.cache_read_input_tokens) + num(u.cache_creation_input_tokens);
        this.output = num(u.output_tokens);
        return [this.chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_delta': {
        const d = isObject(body.delta) ? body.delta : {};
        return d.type === 'text_delta' && typeof d.text === 'string' ? [this.chunk({ content: d.text })] : [];
      }
      case 'message_delta': {
        const d = isObject(body.delta) ? body.delta : {};
        const u = isObject(body.usage) ? body.usage : {};
        if (typeof u.output_tokens === 'number') this.output = u.output_tokens;
        const f = finishReason(d.stop_reason);
        return f === null ? [] : [this.chunk({}, f)];
      }
      case 'message_stop':
        this.done = true;
        return this.ctx.clientWantsUsage ? [this.usageChunk(), '[DONE]'] : ['[DONE]'];
      case 'error': {
        const e = anthropicError(500, body);
        throw new UpstreamStreamError(e.message, e);
      }
      default:
        return []; // ping, content_block_start, content_block_stop
    }
  }

  usage(): Usage | undefined {
    return { input: this.input, output: this.output };
  }
}

const stopSequences = (v: unknown): unknown => (typeof v === 'string' ? [v] : v);

export const anthropic: ProviderAdapter = {
  name: 'anthropic',
  paths: { chat: '/messages' },
  authHeaders: (apiKey) => ({ 'x-api-key': apiKey }),
  staticHeaders: { 'anthropic-version': ANTHROPIC_VERSION },
  passthroughResponses: false,
  streamUsage: false,
  params: {
    chat: {
      max_tokens: { to: 'max_tokens' },
      max_completion_tokens: { to: 'max_tokens' },
      temperature: { to: 'temperature', transform: (v) => (typeof v === 'number' ? Math.min(1, v) : v) },
      top_p: { to: 'top_p' },
      top_k: { to: 'top_k' },
      stop: { to: 'stop_sequences', transform: stopSequences },
      stream: { to: 'stream' },
      user: { to: 'metadata.user_id' },
    },
  },
  transformRequest(_endpoint, mapped, client) {
    const { system, messages } = toAnthropicMessages(client.messages);
    if (system !== undefined) mapped.system = system;
    mapped.messages = messages;
    if (mapped.max_tokens === undefined) mapped.max_tokens = DEFAULT_MAX_TOKENS;
  },
  transformResponse: (_endpoint, upstream, ctx) => chatResponse(upstream, ctx),
  newStreamTransformer: (ctx) => new AnthropicStream(ctx),
  transformError: anthropicError,
};
