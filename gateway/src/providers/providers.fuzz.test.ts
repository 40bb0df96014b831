// Property tests of the provider translators on anything an upstream may send: stream events
// (newStreamTransformer) throw nothing but UpstreamStreamError and give OpenAI chunks, responses
// (transformResponse) and error bodies (transformError) give the OpenAI shapes with the OpenAI types, and any
// client body becomes an upstream body (buildUpstreamBody) without a throw. fuzz/corpus/sse,
// fuzz/corpus/upstream and fuzz/corpus/request-body are replayed first.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anyJson, anyString, chatRequest, HOSTILE_KEYS, requestBody } from '../../../fuzz/arbitraries.js';
import { corpus, fuzzParams, FUZZ_TIMEOUT_MS } from '../../../fuzz/harness.js';
import { jsonObject } from '../server/request-body.js';
import { anthropic } from './anthropic.js';
import { openai } from './openai.js';
import { buildUpstreamBody } from './provider.js';
import { SseParser, type SseEvent } from './sse.js';
import {
  UpstreamStreamError,
  type Endpoint,
  type OpenAIErrorObject,
  type ProviderAdapter,
  type TransformContext,
} from './types.js';

const ADAPTERS: ProviderAdapter[] = [openai, anthropic];
const FINISH_REASONS = new Set([null, 'stop', 'length', 'tool_calls', 'content_filter']);
const ctxOf = (clientWantsUsage: boolean): TransformContext => ({
  model: 'backend-model',
  created: 1_700_000_000,
  clientWantsUsage,
});

type Obj = Record<string, unknown>;
const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringOrNull = (v: unknown) => typeof v === 'string' || v === null;

function checkErrorObject(e: OpenAIErrorObject): void {
  assert.equal(typeof e.message, 'string', 'error.message');
  assert.equal(typeof e.type, 'string', 'error.type');
  assert.ok(isStringOrNull(e.param), 'error.param');
  assert.ok(isStringOrNull(e.code), 'error.code');
}

/** An OpenAI chat.completion.chunk as the Anthropic stream writes it. */
function checkChunk(text: string, wantsUsage: boolean): void {
  const c = JSON.parse(text) as Obj;
  assert.equal(c.object, 'chat.completion.chunk');
  assert.equal(typeof c.id, 'string');
  assert.equal(typeof c.model, 'string');
  assert.ok(Array.isArray(c.choices));
  if (c.choices.length === 0) {
    assert.ok(wantsUsage, 'a usage chunk for a client that did not ask for one');
    assert.ok(isObject(c.usage));
    return;
  }
  for (const choice of c.choices as Obj[]) {
    assert.ok(
      FINISH_REASONS.has(choice.finish_reason as string | null),
      `finish_reason ${String(choice.finish_reason)}`,
    );
    const delta = choice.delta as Obj;
    if ('content' in delta) assert.equal(typeof delta.content, 'string');
  }
}

/** Feeds events to a fresh transformer until the stream ends or reports an error, checking what comes out. */
function checkStream(adapter: ProviderAdapter, events: SseEvent[], wantsUsage: boolean): void {
  const tx = adapter.newStreamTransformer(ctxOf(wantsUsage));
  let done = false;
  for (const ev of events) {
    let out: string[];
    try {
      out = tx.push(ev);
    } catch (err) {
      if (!(err instanceof UpstreamStreamError)) throw err;
      checkErrorObject(err.error);
      return;
    }
    if (adapter === anthropic) {
      assert.ok(!done || out.length === 0, 'a chunk after [DONE]');
      for (const d of out)
        if (d === '[DONE]') done = true;
        else checkChunk(d, wantsUsage);
    } else {
      // OpenAI chunks pass through as sent; only a usage chunk the client did not ask for is held back.
      assert.ok(out.length === 0 || (out.length === 1 && out[0] === ev.data));
      if (out.length === 0) assert.ok(!wantsUsage && ev.data.includes('"usage":{'));
    }
  }
  const usage = tx.usage();
  if (usage !== undefined) {
    assert.equal(typeof usage.input, 'number');
    assert.equal(typeof usage.output, 'number');
  }
}

function checkResponse(upstream: unknown): void {
  const endpoint: Endpoint = 'chat';
  assert.equal(openai.transformResponse(endpoint, upstream, ctxOf(false)), upstream);
  const r = anthropic.transformResponse(endpoint, upstream, ctxOf(false)) as Obj;
  assert.notEqual(JSON.stringify(r), undefined);
  assert.equal(typeof r.id, 'string');
  assert.equal(typeof r.model, 'string');
  const choice = (r.choices as Obj[])[0] as Obj;
  assert.ok(
    FINISH_REASONS.has(choice.finish_reason as string | null),
    `finish_reason ${String(choice.finish_reason)}`,
  );
  assert.equal(typeof (choice.message as Obj).content, 'string');
  for (const v of Object.values(r.usage as Obj)) assert.equal(typeof v, 'number');
}

function checkError(status: number, upstream: unknown): void {
  for (const adapter of ADAPTERS) checkErrorObject(adapter.transformError(status, upstream));
}

function checkUpstreamBody(client: Obj): void {
  for (const adapter of ADAPTERS)
    for (const endpoint of Object.keys(adapter.paths) as Endpoint[]) {
      const body = buildUpstreamBody(adapter, endpoint, client, 'backend-model');
      assert.equal(body.model, 'backend-model');
      assert.equal(typeof JSON.stringify(body), 'string');
      if (client.stream === true && adapter.streamUsage)
        assert.equal((body.stream_options as Obj).include_usage, true);
      if (adapter !== anthropic) continue;
      const messages = body.messages as Obj[];
      assert.ok(Array.isArray(messages));
      messages.forEach((m, i) => {
        assert.ok(m.role === 'user' || m.role === 'assistant');
        assert.equal(typeof m.content, 'string');
        assert.notEqual(m.role, messages[i - 1]?.role, 'two turns of one role in a row');
      });
      assert.ok(body.system === undefined || typeof body.system === 'string');
      assert.notEqual(body.max_tokens, undefined);
    }
}

const stopReason = fc.oneof(
  fc.constantFrom(
    'end_turn',
    'stop_sequence',
    'max_tokens',
    'tool_use',
    'refusal',
    'pause_turn',
    ...HOSTILE_KEYS,
  ),
  anyJson,
);
const eventType = fc.constantFrom(
  ...['message_start', 'content_block_start', 'content_block_delta', 'content_block_stop'],
  ...['message_delta', 'message_stop', 'ping', 'error'],
  ...HOSTILE_KEYS,
);
const count = fc.oneof(fc.nat(100_000), anyJson);
const maybe = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: anyJson });
/** What an Anthropic stream event's data holds, right or wrong at every level. */
const anthropicData = fc.record(
  {
    type: maybe(eventType),
    message: maybe(
      fc.record(
        {
          id: maybe(anyString()),
          model: maybe(anyString()),
          usage: maybe(
            fc.record({ input_tokens: count, output_tokens: count, cache_read_input_tokens: count }),
          ),
        },
        { requiredKeys: [] },
      ),
    ),
    delta: maybe(
      fc.record(
        {
          type: maybe(fc.constantFrom('text_delta', 'input_json_delta')),
          text: maybe(anyString()),
          stop_reason: stopReason,
        },
        { requiredKeys: [] },
      ),
    ),
    usage: maybe(fc.record({ output_tokens: count }, { requiredKeys: [] })),
    error: maybe(
      fc.record({
        type: maybe(fc.constantFrom('overloaded_error', ...HOSTILE_KEYS)),
        message: maybe(anyString()),
      }),
    ),
  },
  { requiredKeys: [] },
);
/** What an OpenAI stream event's data holds: chunks with or without usage, and anything else. */
const openaiData = fc.record(
  {
    choices: maybe(fc.array(fc.record({ delta: fc.record({ content: anyString() }) }), { maxLength: 2 })),
    usage: maybe(fc.record({ prompt_tokens: count, completion_tokens: count })),
  },
  { requiredKeys: [] },
);
const upstreamEvent: fc.Arbitrary<SseEvent> = fc
  .tuple(
    fc.option(eventType, { nil: undefined }),
    fc.oneof(
      { weight: 4, arbitrary: anthropicData.map((d) => JSON.stringify(d)) },
      { weight: 2, arbitrary: openaiData.map((d) => JSON.stringify(d)) },
      { weight: 1, arbitrary: anyJson.map((d) => JSON.stringify(d)) },
      { weight: 1, arbitrary: fc.oneof(anyString(), fc.constant('[DONE]')) },
    ),
  )
  .map(([event, data]) => (event === undefined ? { data } : { event, data }));

/** What an upstream's JSON response or error body holds. */
const upstreamBody: fc.Arbitrary<unknown> = fc.oneof(
  anyJson,
  fc.record(
    {
      id: maybe(anyString()),
      model: maybe(anyString()),
      content: maybe(
        fc.array(
          maybe(fc.record({ type: maybe(fc.constantFrom('text', 'tool_use')), text: maybe(anyString()) })),
          {
            maxLength: 3,
          },
        ),
      ),
      stop_reason: stopReason,
      usage: maybe(
        fc.record({ input_tokens: count, output_tokens: count, cache_creation_input_tokens: count }),
      ),
      error: maybe(
        fc.record(
          {
            type: maybe(
              fc.constantFrom('rate_limit_error', 'api_error', 'invalid_request_error', ...HOSTILE_KEYS),
            ),
            message: maybe(anyString()),
            param: maybe(anyString()),
            code: maybe(fc.oneof(anyString(), fc.integer())),
          },
          { requiredKeys: [] },
        ),
      ),
    },
    { requiredKeys: [] },
  ),
);

function sseEvents(bytes: Uint8Array): SseEvent[] {
  const p = new SseParser();
  return [...p.push(bytes), ...p.end()];
}

describe('provider translators (corpus)', () => {
  test.each(corpus('sse').map((f) => [f.name, f] as const))('stream %s', (_name, f) => {
    const events = sseEvents(new Uint8Array(f.bytes));
    for (const adapter of ADAPTERS) for (const wants of [false, true]) checkStream(adapter, events, wants);
  });

  test.each(corpus('upstream').map((f) => [f.name, f] as const))('body %s', (_name, f) => {
    const upstream = JSON.parse(f.text) as unknown;
    checkResponse(upstream);
    for (const status of [400, 429, 500, 529]) checkError(status, upstream);
  });

  test.each(corpus('request-body').map((f) => [f.name, f] as const))('request %s', (_name, f) => {
    const client = jsonObject(f.bytes);
    if (client !== undefined) checkUpstreamBody(client);
  });
});

describe('provider translators (properties)', () => {
  test(
    'any stream events: OpenAI chunks out, and no throw but UpstreamStreamError',
    () => {
      fc.assert(
        fc.property(fc.array(upstreamEvent, { maxLength: 12 }), fc.boolean(), (events, wants) => {
          for (const adapter of ADAPTERS) checkStream(adapter, events, wants);
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'any upstream body: an OpenAI response and an OpenAI error object with string types',
    () => {
      fc.assert(
        fc.property(upstreamBody, fc.integer({ min: 100, max: 599 }), (upstream, status) => {
          checkResponse(upstream);
          checkError(status, upstream);
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'any client body becomes an upstream body; Anthropic turns alternate',
    () => {
      fc.assert(
        fc.property(fc.oneof(requestBody, chatRequest), (client) => checkUpstreamBody(client)),
        fuzzParams(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('upstream names that are keys of every object map to no OpenAI type', () => {
    // Found by the properties: the stop reason and error type maps were plain objects, so a stop_reason of
    // "constructor" or an error type of "toString" read an inherited function (or Object.prototype, for
    // "__proto__") as the OpenAI finish_reason or error type.
    const r = anthropic.transformResponse('chat', { stop_reason: 'constructor' }, ctxOf(false)) as Obj;
    expect((r.choices as Obj[])[0]?.finish_reason).toBe('stop');
    expect(anthropic.transformError(500, { error: { type: 'toString' } }).type).toBe('toString');
    expect(anthropic.transformError(500, { error: { type: '__proto__' } }).type).toBe('__proto__');
  });
});
