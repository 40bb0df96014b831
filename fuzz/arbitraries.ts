// fast-check arbitraries of what clients and upstreams send: any JSON, with the keys JavaScript treats
// specially and strings of any code point among the rest, and request bodies whose every field may have
// the wrong shape (messages that are strings or numbers, content parts of any kind, prompts of objects,
// huge strings). Every body is what JSON.parse gives for its text, as the gateway sees it.
import fc from 'fast-check';

/** Keys with a meaning on plain objects: a body may carry any of them as its own property. */
export const HOSTILE_KEYS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'toJSON',
  'hasOwnProperty',
  '',
] as const;

/** Strings of any code point, lone surrogates included (JSON can carry them). */
export const anyString = (maxLength = 16): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.string({ maxLength }) },
    { weight: 2, arbitrary: fc.string({ maxLength, unit: 'binary' }) },
    {
      weight: 1,
      arbitrary: fc.string({ maxLength, unit: fc.integer({ min: 0, max: 0xffff }).map(String.fromCharCode) }),
    },
  );

/** A long string: a short piece repeated up to 50k times. */
export const hugeString: fc.Arbitrary<string> = fc
  .tuple(fc.string({ minLength: 1, maxLength: 3, unit: 'binary' }), fc.integer({ min: 1_000, max: 50_000 }))
  .map(([piece, times]) => piece.repeat(times));

export const jsonKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 5, arbitrary: anyString(8) },
  { weight: 1, arbitrary: fc.constantFrom(...HOSTILE_KEYS) },
);

const jsonLeaf: fc.Arbitrary<unknown> = fc.oneof(
  anyString(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);

/** Plain objects whose keys may be the hostile ones, built as own properties (as JSON.parse does). */
function ownObject(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

const { anyJsonTree } = fc.letrec<{ anyJsonTree: unknown }>((tie) => ({
  anyJsonTree: fc.oneof(
    { depthSize: 'small', maxDepth: 5 },
    jsonLeaf,
    fc.array(tie('anyJsonTree'), { maxLength: 5 }),
    fc.array(fc.tuple(jsonKey, tie('anyJsonTree')), { maxLength: 5 }).map(ownObject),
  ),
}));

/** Any JSON value as JSON.parse gives it (-0 and the special keys included). */
export const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: anyJsonTree.map(reparse) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }).map(reparse) },
  { weight: 1, arbitrary: fc.object({ maxDepth: 3, stringUnit: 'binary' }).map(reparse) },
);

/** A value through JSON text and back: what the gateway holds once it parsed a body. */
export function reparse(v: unknown): unknown {
  const text = JSON.stringify(v);
  return text === undefined ? null : (JSON.parse(text) as unknown);
}

const maybe = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 3, arbitrary: arb }, { weight: 1, arbitrary: anyJson });

/** An object that breaks string conversion: its toString and valueOf are not functions. */
const unprintable: fc.Arbitrary<unknown> = fc
  .record({ toString: jsonLeaf, valueOf: jsonLeaf }, { requiredKeys: [] })
  .map(reparse);

const text = fc.oneof({ weight: 30, arbitrary: anyString(24) }, { weight: 1, arbitrary: hugeString });

const contentPart: fc.Arbitrary<unknown> = maybe(
  fc.record(
    {
      type: maybe(fc.constantFrom('text', 'image_url', 'input_audio', 'file', 'refusal')),
      text: maybe(text),
      image_url: fc.record({ url: anyString() }),
    },
    { requiredKeys: [] },
  ),
);

const content: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 3, arbitrary: fc.array(contentPart, { maxLength: 4 }) },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.array(unprintable, { maxLength: 2 }) },
);

const message: fc.Arbitrary<unknown> = maybe(
  fc.record(
    {
      role: maybe(fc.constantFrom('system', 'developer', 'user', 'assistant', 'tool', 'function')),
      content,
      name: maybe(anyString()),
      tool_call_id: maybe(anyString()),
      tool_calls: maybe(fc.array(fc.record({ id: anyString(), type: fc.constant('function') }))),
    },
    { requiredKeys: ['role'] },
  ),
);

const tokenIds = fc.array(fc.integer({ min: 0, max: 100_000 }), { maxLength: 6 });

const prompt: fc.Arbitrary<unknown> = fc.oneof(
  text,
  fc.array(anyString(), { maxLength: 4 }),
  tokenIds,
  fc.array(tokenIds, { maxLength: 3 }),
  fc.array(unprintable, { minLength: 1, maxLength: 3 }),
  anyJson,
);

const messages: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.array(message, { minLength: 1, maxLength: 6 }) },
  { weight: 1, arbitrary: anyJson },
  { weight: 1, arbitrary: fc.array(fc.array(message, { maxLength: 2 }), { maxLength: 2 }) },
);

/** The known fields of a request, each present or not and of the right shape or any. */
const knownFields = fc.record(
  {
    model: maybe(fc.constantFrom('chat', 'gpt-4o', 'claude')),
    messages,
    prompt,
    input: prompt,
    stream: maybe(fc.boolean()),
    stream_options: maybe(fc.record({ include_usage: fc.boolean() })),
    temperature: maybe(fc.constantFrom(0, 0.5, 1, 2)),
    top_p: maybe(fc.constantFrom(0, 1)),
    n: maybe(fc.integer({ min: 1, max: 3 })),
    max_tokens: maybe(fc.integer({ min: 1, max: 4096 })),
    max_completion_tokens: maybe(fc.integer({ min: 1, max: 4096 })),
    stop: maybe(fc.oneof(anyString(), fc.array(anyString(), { maxLength: 5 }))),
    user: maybe(anyString()),
    metadata: maybe(fc.dictionary(anyString(8), anyString(), { maxKeys: 3 })),
    tools: maybe(
      fc.array(
        fc.record({
          type: fc.constant('function'),
          function: fc.record({ name: anyString(), parameters: anyJson }),
        }),
        { maxLength: 2 },
      ),
    ),
    response_format: maybe(fc.record({ type: fc.constantFrom('text', 'json_object', 'json_schema') })),
    top_k: maybe(fc.integer({ min: 1, max: 100 })),
  },
  { requiredKeys: [] },
);

/** A request body: known fields, right or wrong, and unknown ones (hostile keys among them). */
export const requestBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(knownFields, fc.array(fc.tuple(jsonKey, anyJson), { maxLength: 3 }))
  .map(([known, extra]) => reparse({ ...ownObject(extra), ...known }) as Record<string, unknown>);

/** A chat request the edge accepts the shape of: text or text-part messages with roles. */
export const chatRequest: fc.Arbitrary<Record<string, unknown>> = fc
  .record(
    {
      model: fc.constant('chat'),
      messages: fc.array(
        fc.record({
          role: fc.constantFrom('system', 'user', 'assistant'),
          content: fc.oneof(
            anyString(24),
            fc.array(fc.record({ type: fc.constant('text'), text: anyString(24) }), {
              minLength: 1,
              maxLength: 3,
            }),
          ),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      temperature: fc.constantFrom(0, 0.7),
      max_tokens: fc.integer({ min: 1, max: 4096 }),
      stream: fc.boolean(),
      user: anyString(),
    },
    { requiredKeys: ['model', 'messages'] },
  )
  .map((b) => reparse(b) as Record<string, unknown>);

/** Bytes that are mostly a JSON body with a few bytes cut, replaced or inserted, or any bytes at all. */
export const bodyBytes: fc.Arbitrary<Buffer> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
  fc
    .tuple(
      requestBody,
      fc.array(fc.tuple(fc.nat(), fc.nat(3), fc.uint8Array({ maxLength: 3 })), { maxLength: 3 }),
    )
    .map(([body, edits]) => {
      let b = Buffer.from(JSON.stringify(body));
      for (const [at, cut, insert] of edits) {
        const i = b.length === 0 ? 0 : at % b.length;
        b = Buffer.concat([b.subarray(0, i), Buffer.from(insert), b.subarray(i + cut)]);
      }
      return b;
    }),
);
