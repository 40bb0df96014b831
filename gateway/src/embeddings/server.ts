// An OpenAI-compatible embeddings server (`POST /v1/embeddings`) on the bundled sentence encoder, for the
// semantic cache and the learned router (`cache.semantic.embeddings`, `selection.qualityCost.embeddings`)
// where no embeddings server runs in the cluster yet. The request is checked as OpenAI checks it (an OpenAI
// error body for anything else, so the official clients raise their typed errors), texts wait in one bounded
// queue (past it: 503 `overloaded` with Retry-After, at once), and `encoding_format: base64`, the official
// clients' default, is answered as they decode it. /healthz, /readyz (the model loaded, a thread alive) and
// /metrics beside it.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import client from 'prom-client';
import type { Logger } from '../log.js';
import { gatewayError, sendError, type GatewayError } from '../server/errors.js';
import { parseJson, readBody, slowBodyRefusal } from '../server/request-body.js';
import { ENCODER_DIMENSIONS, ENCODER_MODEL, SentenceEncoder } from './sentence-encoder.js';

/** OpenAI's own limit on the inputs of one request. */
export const MAX_INPUTS = 2048;
/** Characters of one input: past this a text is refused (the gateway sends at most 2,000 of a prompt). */
export const MAX_INPUT_CHARS = 32_768;
const MAX_BODY_BYTES = 16 * 1024 * 1024;

export interface EmbeddingsServerOptions {
  port: number;
  host: string;
  /** Encoder threads (each holds the model, about 100 MiB). */
  threads: number;
  /** Texts queued at most (all requests together) before new requests are refused. */
  maxQueue: number;
  /** Texts a thread takes at once. */
  batch?: number;
  log: Logger;
}

export interface EmbeddingsServer {
  url: string;
  close(): Promise<void>;
}

interface EmbeddingsRequest {
  texts: string[];
  base64: boolean;
}

const invalid = (message: string, param: string | null, code: string | null = null): GatewayError =>
  gatewayError(400, message, code, { param });

/** The request's texts and encoding, or the error OpenAI answers for it. */
export function parseEmbeddingsRequest(json: unknown): EmbeddingsRequest | GatewayError {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return invalid('the body must be a JSON object', null);
  const body = json as Record<string, unknown>;
  if (body.model === undefined) return invalid('you must provide a model parameter', 'model');
  if (body.model !== ENCODER_MODEL)
    return gatewayError(
      404,
      `the model ${JSON.stringify(body.model)} does not exist; this server serves '${ENCODER_MODEL}'`,
      'model_not_found',
      { param: 'model' },
    );
  const input = body.input;
  const texts = typeof input === 'string' ? [input] : Array.isArray(input) ? input : undefined;
  if (texts === undefined || texts.length === 0)
    return invalid("'input' must be a non-empty string or array of strings", 'input');
  if (texts.length > MAX_INPUTS)
    return invalid(`'input' has ${texts.length} items; at most ${MAX_INPUTS}`, 'input');
  for (const [i, t] of texts.entries()) {
    if (typeof t !== 'string')
      return invalid(`'input[${i}]' is not a string (token arrays are not accepted: send the text)`, 'input');
    if (t === '') return invalid(`'input[${i}]' is empty`, 'input');
    if (t.length > MAX_INPUT_CHARS)
      return invalid(`'input[${i}]' has ${t.length} characters; at most ${MAX_INPUT_CHARS}`, 'input');
  }
  const format = body.encoding_format ?? 'float';
  if (format !== 'float' && format !== 'base64')
    return invalid("'encoding_format' must be 'float' or 'base64'", 'encoding_format');
  if (body.dimensions !== undefined && body.dimensions !== ENCODER_DIMENSIONS)
    return invalid(
      `'dimensions': ${ENCODER_MODEL} has ${ENCODER_DIMENSIONS} and cannot shorten them`,
      'dimensions',
    );
  return { texts: texts as string[], base64: format === 'base64' };
}

/** Little-endian float32 bytes, base64: what the official clients decode. */
const toBase64 = (v: Float32Array): string =>
  Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');

/** About four characters a token: the usage figure, for clients that read it (the model has no price). */
const tokensOf = (texts: readonly string[]): number =>
  texts.reduce((n, t) => n + Math.max(1, Math.ceil(t.length / 4)), 0);

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.end(text);
}

class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({
    name: 'beastmode_embeddings_requests_total',
    help: 'Embeddings requests answered, by status code',
    labelNames: ['code'],
    registers: [this.registry],
  });
  readonly texts = new client.Counter({
    name: 'beastmode_embeddings_texts_total',
    help: 'Texts embedded',
    registers: [this.registry],
  });
  readonly seconds = new client.Histogram({
    name: 'beastmode_embeddings_request_duration_seconds',
    help: 'Time from a request read to its answer (queueing included)',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly batches = new client.Histogram({
    name: 'beastmode_embeddings_batch_duration_seconds',
    help: 'Time an encoder thread took for one batch of texts',
    buckets: [0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
    registers: [this.registry],
  });

  /** Gauges of the encoder's queue and threads, read at each scrape. */
  watch(stats: () => { queued: number; threads: number }): void {
    new client.Gauge({
      name: 'beastmode_embeddings_queued_texts',
      help: 'Texts waiting for an encoder thread',
      registers: [this.registry],
      collect() {
        this.set(stats().queued);
      },
    });
    new client.Gauge({
      name: 'beastmode_embeddings_threads',
      help: 'Encoder threads alive',
      registers: [this.registry],
      collect() {
        this.set(stats().threads);
      },
    });
  }

  constructor() {
    client.collectDefaultMetrics({ register: this.registry });
  }
}

/** POST /v1/embeddings: read, check, queue, answer. */
function embeddingsHandler(enc: SentenceEncoder, m: Metrics, o: EmbeddingsServerOptions) {
  const fail = (res: ServerResponse, e: GatewayError) => {
    m.requests.inc({ code: String(e.status) });
    sendError(res, e);
  };
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const raw = await readBody(req, MAX_BODY_BYTES);
    if (raw === undefined) {
      res.setHeader('connection', 'close');
      const tooLarge = gatewayError(
        413,
        `the body is larger than ${MAX_BODY_BYTES} bytes`,
        'request_too_large',
      );
      return fail(res, slowBodyRefusal(req) ?? tooLarge);
    }
    const json = parseJson(raw);
    if (json === undefined) return fail(res, invalid('the body is not valid JSON', null));
    const parsed = parseEmbeddingsRequest(json);
    if ('status' in parsed) return fail(res, parsed);
    if (parsed.texts.length > o.maxQueue) {
      const tooMany = `'input' has ${parsed.texts.length} items; this server queues at most ${o.maxQueue}`;
      return fail(res, invalid(tooMany, 'input'));
    }
    if (enc.stats().queued + parsed.texts.length > o.maxQueue) {
      const full = gatewayError(503, 'the encoder queue is full, retry shortly', 'overloaded', {
        retryAfterSeconds: 1,
      });
      return fail(res, full);
    }
    let vectors: Float32Array[];
    try {
      vectors = await enc.embed(parsed.texts);
    } catch (err) {
      o.log.log('error', 'Embedding failed', { component: 'embeddings', error: (err as Error).message });
      return fail(res, gatewayError(500, 'the texts could not be embedded', 'embedding_failed'));
    }
    m.texts.inc(parsed.texts.length);
    const tokens = tokensOf(parsed.texts);
    m.requests.inc({ code: '200' });
    sendJson(res, 200, {
      object: 'list',
      data: vectors.map((v, index) => ({
        object: 'embedding',
        index,
        embedding: parsed.base64 ? toBase64(v) : Array.from(v),
      })),
      model: ENCODER_MODEL,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
    m.seconds.observe((performance.now() - started) / 1000);
  };
}

/** Every path the server answers. */
function requestListener(enc: SentenceEncoder, m: Metrics, o: EmbeddingsServerOptions) {
  const embeddings = embeddingsHandler(enc, m, o);
  return (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/v1/embeddings' || path === '/embeddings') {
      if (req.method !== 'POST') return sendError(res, gatewayError(405, 'use POST', 'method_not_allowed'));
      void embeddings(req, res).catch((err: unknown) => {
        o.log.log('error', 'Request failed unexpectedly', {
          component: 'embeddings',
          error: (err as Error).message,
        });
        sendError(res, gatewayError(500, 'the request failed unexpectedly', 'internal_error'));
      });
      return;
    }
    if (path === '/v1/models')
      return sendJson(res, 200, {
        object: 'list',
        data: [{ id: ENCODER_MODEL, object: 'model', created: 0, owned_by: 'beastmode' }],
      });
    if (path === '/healthz') return sendJson(res, 200, { status: 'ok' });
    if (path === '/readyz') {
      const { threads } = enc.stats();
      return sendJson(res, threads > 0 ? 200 : 503, { ready: threads > 0, threads });
    }
    if (path === '/metrics') {
      void m.registry.metrics().then((text) => {
        res.setHeader('content-type', m.registry.contentType);
        res.end(text);
      });
      return;
    }
    sendError(res, gatewayError(404, `no route for ${path}`, 'not_found'));
  };
}

/** Loads the model on every thread, then listens; resolves once it serves. */
export async function startEmbeddingsServer(o: EmbeddingsServerOptions): Promise<EmbeddingsServer> {
  const m = new Metrics();
  const loadStart = performance.now();
  const enc = await SentenceEncoder.start({
    threads: o.threads,
    ...(o.batch !== undefined ? { batch: o.batch } : {}),
    onBatch: (_texts, seconds) => m.batches.observe(seconds),
  });
  m.watch(() => enc.stats());
  o.log.log('info', 'Sentence encoder loaded', {
    component: 'embeddings',
    model: ENCODER_MODEL,
    threads: o.threads,
    loadMs: Math.round(performance.now() - loadStart),
  });
  const server = http.createServer(requestListener(enc, m, o));
  // Behind a load balancer or a client pool, an idle connection is closed by the client first.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const local = o.host === '0.0.0.0' || o.host === '::' ? '127.0.0.1' : o.host;
  return {
    url: `http://${local.includes(':') ? `[${local}]` : local}:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await enc.close();
    },
  };
}
