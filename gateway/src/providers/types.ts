// What a provider adapter is: data (paths, headers, parameter maps) plus three small transforms
// (request, response, stream event), all applied by the generic functions in provider.ts.
import type { SseEvent } from './sse.js';

export type Endpoint = 'chat' | 'completions' | 'embeddings';

export interface Usage {
  input: number;
  output: number;
}

/** An OpenAI-style error body's inner object. */
export interface OpenAIErrorObject {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
}

/** How one client parameter becomes an upstream one. */
export interface ParamRule {
  /** Upstream field, dotted for nesting ("metadata.user_id"). */
  to: string;
  transform?: (value: unknown) => unknown;
}

/** Client parameter → rule; parameters without a rule are dropped. */
export type ParamMap = Record<string, ParamRule>;

/** Context for transforms: everything they need that is not in the body (no clock inside them). */
export interface TransformContext {
  /** The backend's upstream model name. */
  model: string;
  /** Unix seconds, for the "created" field of translated responses. */
  created: number;
  /** Whether the client asked for a usage chunk at the end of a stream. */
  clientWantsUsage: boolean;
}

/** Turns upstream stream events into OpenAI chunk payloads (JSON strings, or "[DONE]"). */
export interface StreamTransformer {
  push(event: SseEvent): string[];
  /** Token usage seen so far (complete once the stream ended). */
  usage(): Usage | undefined;
}

/** Thrown by a stream transformer when the upstream reports an error inside the stream. */
export class UpstreamStreamError extends Error {
  constructor(
    message: string,
    readonly error: OpenAIErrorObject,
  ) {
    super(message);
  }
}

export interface ProviderAdapter {
  name: string;
  /** Upstream path per endpoint, relative to the backend's base URL; absent = not supported. */
  paths: Partial<Record<Endpoint, string>>;
  /** Headers carrying the credential. */
  authHeaders(apiKey: string): Record<string, string>;
  /** Headers every request carries. */
  staticHeaders: Record<string, string>;
  /** Responses are already OpenAI JSON: sent to the client byte for byte, usage read by a scan. */
  passthroughResponses: boolean;
  /** Whether `stream_options.include_usage` is understood upstream (OpenAI wire format). */
  streamUsage: boolean;
  /** Per endpoint, the parameter map; absent = the body passes through as is (same wire format). */
  params: Partial<Record<Endpoint, ParamMap>>;
  /** Final touches after the parameter map (e.g. reshaping messages). */
  transformRequest(
    endpoint: Endpoint,
    mapped: Record<string, unknown>,
    client: Record<string, unknown>,
  ): void;
  /** Upstream JSON response → OpenAI JSON response. */
  transformResponse(endpoint: Endpoint, upstream: unknown, ctx: TransformContext): unknown;
  newStreamTransformer(ctx: TransformContext): StreamTransformer;
  /** Upstream error body → OpenAI error object. */
  transformError(status: number, upstream: unknown): OpenAIErrorObject;
}
