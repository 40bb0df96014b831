// A client of an OpenAI-compatible embeddings API (POST <url>/embeddings): the vectors of some texts, in
// input order, or an error that says what was wrong — a status, a timeout, an answer that is not a list of
// vectors of one length. Used on the request path (one prompt, a short timeout) and by training (batches).
import { fetch, type Dispatcher } from 'undici';
import { EMBEDDED_CHARS } from './router-embeddings.js';

export interface EmbeddingsEndpoint {
  /** Base URL, e.g. http://tei.models.svc:8080/v1. */
  url: string;
  model: string;
  dimensions?: number | undefined;
}

export class EmbeddingsError extends Error {
  constructor(
    message: string,
    readonly timedOut = false,
  ) {
    super(message);
  }
}

const endpointOf = (url: string): string => `${url.replace(/\/+$/, '')}/embeddings`;

/** The vectors of an embeddings answer, in input order; throws EmbeddingsError when it is not one. */
function vectorsOf(json: unknown, count: number): number[][] {
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.length !== count)
    throw new EmbeddingsError(`the answer has no list of ${count} embeddings`);
  const out: number[][] = new Array<number[]>(count);
  for (const [k, item] of data.entries()) {
    const { embedding, index } = (item ?? {}) as { embedding?: unknown; index?: unknown };
    const i = typeof index === 'number' ? index : k;
    if (!Array.isArray(embedding) || embedding.some((v) => typeof v !== 'number') || i < 0 || i >= count)
      throw new EmbeddingsError('an embedding is not a list of numbers (encoding_format float)');
    out[i] = embedding as number[];
  }
  const dims = out[0]?.length ?? 0;
  if (out.some((v) => v === undefined || v.length !== dims))
    throw new EmbeddingsError('the embeddings differ in length');
  return out;
}

/**
 * The embeddings of `texts` (each cut to EMBEDDED_CHARS), or an EmbeddingsError within `timeoutMs`. A
 * redirect is an error (never followed); on the request path `dispatcher` is the gateway's, which connects
 * only where its egress policy allows.
 */
export async function fetchEmbeddings(
  endpoint: EmbeddingsEndpoint,
  texts: readonly string[],
  timeoutMs: number,
  dispatcher?: Dispatcher,
): Promise<number[][]> {
  const body = {
    model: endpoint.model,
    input: texts.map((t) => (t.length > EMBEDDED_CHARS ? t.slice(0, EMBEDDED_CHARS) : t)),
    encoding_format: 'float',
    ...(endpoint.dimensions !== undefined ? { dimensions: endpoint.dimensions } : {}),
  };
  let res: Awaited<ReturnType<typeof fetch>>;
  try {
    res = await fetch(endpointOf(endpoint.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
      ...(dispatcher !== undefined ? { dispatcher } : {}),
    });
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new EmbeddingsError(`no answer within ${timeoutMs} ms`, true);
    throw new EmbeddingsError(`cannot reach ${endpointOf(endpoint.url)}: ${(err as Error).message}`);
  }
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new EmbeddingsError(`HTTP ${res.status} from ${endpointOf(endpoint.url)}`);
  }
  let json: unknown;
  try {
    json = await res.json();
  } catch (err) {
    const name = (err as { name?: unknown } | null)?.name;
    if (name === 'TimeoutError' || name === 'AbortError')
      throw new EmbeddingsError(`no answer within ${timeoutMs} ms`, true);
    throw new EmbeddingsError('the answer is not JSON');
  }
  return vectorsOf(json, texts.length);
}

/** Embeddings of many texts in batches, a few batches at a time (training and evaluation). */
export async function embedAll(
  endpoint: EmbeddingsEndpoint,
  texts: readonly string[],
  o: { batch?: number; parallel?: number; timeoutMs?: number; progress?: (done: number) => void } = {},
): Promise<number[][]> {
  const batch = o.batch ?? 64;
  const out: number[][] = new Array<number[]>(texts.length);
  let next = 0;
  let done = 0;
  const worker = async () => {
    for (let start = next; start < texts.length; start = next) {
      next = start + batch;
      const vectors = await fetchEmbeddings(endpoint, texts.slice(start, next), o.timeoutMs ?? 60_000);
      vectors.forEach((v, k) => (out[start + k] = v));
      done += vectors.length;
      o.progress?.(done);
    }
  };
  await Promise.all(Array.from({ length: o.parallel ?? 4 }, worker));
  return out;
}

const FAILURES_BEFORE_REST = 3;
const REST_MS = 5000;

/**
 * Embeddings servers that fail three times in a row are rested for five seconds (one request then tries
 * again, and one more failure rests it again), so an outage costs the timeout on a few requests, not on all.
 */
export class RestingServers {
  private readonly servers = new Map<string, { failures: number; restUntil: number }>();

  /** Whether `server` may be asked now. */
  available(server: string, now: number): boolean {
    return (this.servers.get(server)?.restUntil ?? 0) <= now;
  }

  succeeded(server: string): void {
    this.servers.delete(server);
  }

  /** Counts a failure; true when it starts a rest (to log once per rest). */
  failed(server: string, now: number): boolean {
    const s = this.servers.get(server) ?? { failures: 0, restUntil: 0 };
    this.servers.set(server, s);
    if (++s.failures < FAILURES_BEFORE_REST) return false;
    s.restUntil = now + REST_MS;
    s.failures = FAILURES_BEFORE_REST - 1;
    return true;
  }
}

/** How long a failing embeddings server is rested, in seconds (for logs). */
export const REST_SECONDS = REST_MS / 1000;

/** A vector scaled to unit length (cosine becomes the dot product); a zero vector stays zero. */
export function unitLength(v: readonly number[]): Float32Array {
  let norm = 0;
  for (const x of v) norm += x * x;
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0;
  return Float32Array.from(v, (x) => x * scale);
}
