// The provider registry and the generic functions that apply an adapter: build the upstream request,
// translate the response and errors. Unknown provider names throw at config load.
import type { Provider } from '../../../api/v1alpha1/index.js';
import { anthropic } from './anthropic.js';
import { openai, openaiCompatible } from './openai.js';
import type { Endpoint, ParamMap, ProviderAdapter } from './types.js';

export * from './types.js';

/** The adapter of a provider name; throws for a name no adapter implements. */
export function providerAdapter(name: string): ProviderAdapter {
  const p = name as Provider;
  switch (p) {
    case 'openai':
      return openai;
    case 'openai-compatible':
      return openaiCompatible;
    case 'anthropic':
      return anthropic;
    default: {
      const never: never = p;
      throw new Error(`unknown provider "${String(never)}": use openai, openai-compatible or anthropic`);
    }
  }
}

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let o = target;
  for (let i = 0; i < parts.length - 1; i++) {
    const k = parts[i] as string;
    const next = o[k];
    if (typeof next === 'object' && next !== null) o = next as Record<string, unknown>;
    else {
      const fresh: Record<string, unknown> = {};
      o[k] = fresh;
      o = fresh;
    }
  }
  o[parts[parts.length - 1] as string] = value;
}

function applyParamMap(map: ParamMap, client: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [param, rule] of Object.entries(map)) {
    const v = client[param];
    if (v === undefined || v === null) continue;
    setPath(out, rule.to, rule.transform ? rule.transform(v) : v);
  }
  return out;
}

/**
 * The upstream JSON body for a client body: through the adapter's parameter map (or passed through), with
 * the backend's model, and with a usage chunk requested for streams where the provider supports it.
 */
export function buildUpstreamBody(
  adapter: ProviderAdapter,
  endpoint: Endpoint,
  client: Record<string, unknown>,
  model: string,
): Record<string, unknown> {
  const map = adapter.params[endpoint];
  const body = map === undefined ? { ...client } : applyParamMap(map, client);
  body.model = model;
  adapter.transformRequest(endpoint, body, client);
  if (client.stream === true && adapter.streamUsage) {
    const so = client.stream_options;
    body.stream_options = { ...(typeof so === 'object' && so !== null ? so : {}), include_usage: true };
  }
  return body;
}

/**
 * Request headers for an upstream call: nothing of the client's headers but the gateway's Via entries
 * (gateway/src/server/loops.ts), so hop-by-hop headers, Host, X-Forwarded-* and the client's key never
 * reach a backend.
 */
export function upstreamHeaders(
  adapter: ProviderAdapter,
  apiKey: string | undefined,
  via?: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    ...(via !== undefined ? { via } : {}),
    ...adapter.staticHeaders,
    ...(apiKey === undefined ? {} : adapter.authHeaders(apiKey)),
  };
}

/** Whether the client asked for a usage chunk at the end of its stream. */
export function clientWantsUsage(client: Record<string, unknown>): boolean {
  const so = client.stream_options;
  return typeof so === 'object' && so !== null && (so as Record<string, unknown>).include_usage === true;
}
