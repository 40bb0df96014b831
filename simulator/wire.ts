// The simulator's wire formats: what a request asks for, and the bodies and server-sent events of the
// OpenAI and Anthropic APIs that answer it. Plain data in, plain data out; the server decides when and
// whether to send them (faults, timing, sockets).
import { answerTokens, countTokens, echoTokens, embed, idFor, promptOf } from './answers.js';

export type Provider = 'openai' | 'anthropic';
export type JsonObject = Record<string, unknown>;

/** A fixed creation time, so that the same prompt always gets the same bytes. */
const CREATED = 1_700_000_000;

/** One answer to send, in whichever shape the request asked for. */
export interface Answer {
  prompt: string;
  tokens: string[];
  model: string;
  inputTokens: number;
  /** A chat completion (or Anthropic message) rather than a legacy text completion. */
  chat: boolean;
  /** The answer is a call to this function, the tokens the fragments of its JSON arguments (OpenAI chat). */
  toolCall?: string;
}

export interface CompletionRequest {
  answer: Answer;
  stream: boolean;
  /** OpenAI streams: `stream_options.include_usage`, a last chunk carrying the token counts. */
  includeUsage: boolean;
}

export interface AnswerDefaults {
  /** Answer length cap in tokens when the request sets none. */
  maxTokens: number;
  /** The model named in the answer when the request names none. */
  model: string;
  /** Answer with the prompt itself (echoTokens). */
  echo?: boolean;
  /** Answer a chat request that offers function tools with a call to the first. */
  toolCalls?: boolean;
}

/** The name of the first function tool a request offers. */
function firstTool(body: JsonObject): string | undefined {
  const tool: unknown = Array.isArray(body.tools) ? body.tools[0] : undefined;
  const fn = typeof tool === 'object' && tool !== null ? (tool as JsonObject).function : undefined;
  const name = typeof fn === 'object' && fn !== null ? (fn as JsonObject).name : undefined;
  return typeof name === 'string' ? name : undefined;
}

/** Reads a chat, completion or message request body into the answer it gets. */
export function readCompletionRequest(
  provider: Provider,
  path: string,
  body: JsonObject,
  defaults: AnswerDefaults,
): CompletionRequest {
  const prompt =
    provider === 'anthropic'
      ? `${typeof body.system === 'string' ? body.system : ''}\n${promptOf(body)}`
      : promptOf(body);
  const max =
    typeof body.max_tokens === 'number'
      ? body.max_tokens
      : typeof body.max_completion_tokens === 'number'
        ? body.max_completion_tokens
        : defaults.maxTokens;
  const chat = path !== '/v1/completions';
  const tokens = defaults.echo === true ? echoTokens(prompt) : answerTokens(prompt, max);
  const toolCall = defaults.toolCalls === true && chat && provider === 'openai' ? firstTool(body) : undefined;
  const answer: Answer = {
    prompt,
    tokens: toolCall === undefined ? tokens : echoTokens(JSON.stringify({ text: tokens.join('') })),
    model: typeof body.model === 'string' ? body.model : defaults.model,
    inputTokens: countTokens(prompt),
    chat,
    ...(toolCall !== undefined ? { toolCall } : {}),
  };
  return {
    answer,
    stream: body.stream === true,
    includeUsage: (body.stream_options as JsonObject | undefined)?.include_usage === true,
  };
}

/** The error body each API sends with `status`; `code` is OpenAI's error code (e.g. insufficient_quota). */
export function errorBody(provider: Provider, status: number, code: string | undefined): unknown {
  const message =
    code === 'insufficient_quota' ? 'You exceeded your current quota' : `simulated error ${status}`;
  switch (provider) {
    case 'anthropic':
      return { type: 'error', error: { type: anthropicErrorType(status), message } };
    case 'openai': {
      const type =
        code ??
        (status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error');
      return { error: { message, type, param: null, code: code ?? null } };
    }
    default:
      return unknownProvider(provider);
  }
}

function anthropicErrorType(status: number): string {
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return 'overloaded_error';
  return status >= 500 ? 'api_error' : 'invalid_request_error';
}

/** The answer to a request made at run time with a body that is not JSON (POST /admin/faults). */
export function notJsonBody(what: string): unknown {
  return {
    error: { message: `${what} must be JSON`, type: 'invalid_request_error', param: null, code: null },
  };
}

/** The whole (non-streamed) answer. */
export function completionBody(provider: Provider, answer: Answer): unknown {
  switch (provider) {
    case 'anthropic':
      return anthropicMessage(answer);
    case 'openai':
      return openAICompletion(answer);
    default:
      return unknownProvider(provider);
  }
}

/** The streamed answer as the server-sent events to write, one string each. */
export function completionEvents(provider: Provider, answer: Answer, includeUsage: boolean): string[] {
  switch (provider) {
    case 'anthropic':
      return anthropicEvents(answer);
    case 'openai':
      return openAIEvents(answer, includeUsage);
    default:
      return unknownProvider(provider);
  }
}

function unknownProvider(provider: never): never {
  throw new Error(`unknown simulator provider ${String(provider)}`);
}

function openAIUsage(a: Answer) {
  return {
    prompt_tokens: a.inputTokens,
    completion_tokens: a.tokens.length,
    total_tokens: a.inputTokens + a.tokens.length,
  };
}

function openAIId(a: Answer): string {
  return idFor(a.chat ? 'chatcmpl' : 'cmpl', a.prompt);
}

function toolCallOf(a: Answer, args: string) {
  return { id: idFor('call', a.prompt), type: 'function', function: { name: a.toolCall, arguments: args } };
}

function openAICompletion(a: Answer): unknown {
  const text = a.tokens.join('');
  if (!a.chat) {
    return {
      id: openAIId(a),
      object: 'text_completion',
      created: CREATED,
      model: a.model,
      choices: [{ index: 0, text, logprobs: null, finish_reason: 'stop' }],
      usage: openAIUsage(a),
    };
  }
  return {
    id: openAIId(a),
    object: 'chat.completion',
    created: CREATED,
    model: a.model,
    choices: [
      {
        index: 0,
        message:
          a.toolCall === undefined
            ? { role: 'assistant', content: text, refusal: null }
            : { role: 'assistant', content: null, refusal: null, tool_calls: [toolCallOf(a, text)] },
        logprobs: null,
        finish_reason: a.toolCall === undefined ? 'stop' : 'tool_calls',
      },
    ],
    usage: openAIUsage(a),
  };
}

function anthropicMessage(a: Answer): unknown {
  return {
    id: idFor('msg', a.prompt),
    type: 'message',
    role: 'assistant',
    model: a.model,
    content: [{ type: 'text', text: a.tokens.join('') }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: a.inputTokens, output_tokens: a.tokens.length },
  };
}

function openAIEvents(a: Answer, includeUsage: boolean): string[] {
  const base = {
    id: openAIId(a),
    object: a.chat ? 'chat.completion.chunk' : 'text_completion',
    created: CREATED,
    model: a.model,
  };
  const deltaOf = (text: string | undefined, first: boolean) => {
    if (a.toolCall === undefined) return first ? { role: 'assistant', content: text } : { content: text };
    const call = first ? toolCallOf(a, text ?? '') : { function: { arguments: text } };
    return { ...(first ? { role: 'assistant', content: null } : {}), tool_calls: [{ index: 0, ...call }] };
  };
  const choice = (text: string | undefined, finish: string | null, first: boolean) =>
    a.chat
      ? { index: 0, delta: finish ? {} : deltaOf(text, first), logprobs: null, finish_reason: finish }
      : { index: 0, text: text ?? '', logprobs: null, finish_reason: finish };
  const out = a.tokens.map((t, i) => JSON.stringify({ ...base, choices: [choice(t, null, i === 0)] }));
  const finish = a.toolCall === undefined ? 'stop' : 'tool_calls';
  out.push(JSON.stringify({ ...base, choices: [choice(undefined, finish, false)] }));
  if (includeUsage) out.push(JSON.stringify({ ...base, choices: [], usage: openAIUsage(a) }));
  return [...out.map((d) => `data: ${d}\n\n`), 'data: [DONE]\n\n'];
}

function anthropicEvents(a: Answer): string[] {
  const ev = (type: string, data: JsonObject) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const message = {
    id: idFor('msg', a.prompt),
    type: 'message',
    role: 'assistant',
    model: a.model,
    content: [],
    stop_reason: null,
    usage: { input_tokens: a.inputTokens, output_tokens: 1 },
  };
  return [
    ev('message_start', { message }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('ping', {}),
    ...a.tokens.map((t) => ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: t } })),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', {
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: a.tokens.length },
    }),
    ev('message_stop', {}),
  ];
}

/** The answer to POST /v1/embeddings: one deterministic vector per input. */
export function embeddingsBody(body: JsonObject, defaultModel: string | undefined): unknown {
  const input = Array.isArray(body.input)
    ? body.input.map(String)
    : [typeof body.input === 'string' ? body.input : ''];
  const dims = typeof body.dimensions === 'number' ? Math.min(4096, Math.max(1, body.dimensions)) : 16;
  const tokens = input.reduce((s, t) => s + countTokens(t), 0);
  return {
    object: 'list',
    data: input.map((t, index) => ({ object: 'embedding', index, embedding: embed(t, dims) })),
    model: typeof body.model === 'string' ? body.model : defaultModel,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  };
}

/** The answer to GET /v1/models. */
export function modelsBody(models: string[]): unknown {
  return {
    object: 'list',
    data: models.map((id) => ({ id, object: 'model', created: CREATED, owned_by: 'simulator' })),
  };
}
