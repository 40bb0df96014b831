// OpenAI and OpenAI-compatible servers (vLLM, TGI, Ollama, LiteLLM…): the client's wire format, so the
// adapter passes bodies through and only reads usage and errors.
import type {
  OpenAIErrorObject,
  ProviderAdapter,
  StreamTransformer,
  TransformContext,
  Usage,
} from './types.js';

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Usage of an OpenAI response or chunk body, if it has one. */
export function openAIUsage(body: unknown): Usage | undefined {
  if (!isObject(body) || !isObject(body.usage)) return undefined;
  const u = body.usage;
  const input = typeof u.prompt_tokens === 'number' ? u.prompt_tokens : 0;
  const output = typeof u.completion_tokens === 'number' ? u.completion_tokens : 0;
  return { input, output };
}

export function openAIError(status: number, upstream: unknown): OpenAIErrorObject {
  const e = isObject(upstream) && isObject(upstream.error) ? upstream.error : undefined;
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null);
  return {
    message: (e && str(e.message)) ?? `upstream answered with status ${status}`,
    type: (e && str(e.type)) ?? (status >= 500 ? 'server_error' : 'invalid_request_error'),
    param: e ? str(e.param) : null,
    code: e ? str(e.code) : null,
  };
}

class OpenAIStream implements StreamTransformer {
  private seen: Usage | undefined;
  constructor(private readonly ctx: TransformContext) {}

  push(event: { data: string }): string[] {
    const data = event.data;
    if (data === '[DONE]') return [data];
    // Parsing every chunk costs; only chunks that carry usage need it.
    if (!data.includes('"usage":{')) return [data];
    let body: unknown;
    try {
      body = JSON.parse(data);
    } catch {
      return [data];
    }
    this.seen = openAIUsage(body) ?? this.seen;
    // We asked for the usage chunk on the client's behalf: keep it from clients that did not.
    const choices = isObject(body) ? body.choices : undefined;
    if (!this.ctx.clientWantsUsage && Array.isArray(choices) && choices.length === 0) return [];
    return [data];
  }

  usage(): Usage | undefined {
    return this.seen;
  }
}

function openAIAdapter(name: string): ProviderAdapter {
  return {
    name,
    paths: { chat: '/chat/completions', completions: '/completions', embeddings: '/embeddings' },
    authHeaders: (apiKey) => ({ authorization: `Bearer ${apiKey}` }),
    staticHeaders: {},
    passthroughResponses: true,
    streamUsage: true,
    params: {},
    transformRequest: () => {},
    transformResponse: (_endpoint, upstream) => upstream,
    newStreamTransformer: (ctx) => new OpenAIStream(ctx),
    transformError: openAIError,
  };
}

export const openai = openAIAdapter('openai');
export const openaiCompatible = openAIAdapter('openai-compatible');
