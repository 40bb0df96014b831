// The request-shape check as a table: bodies OpenAI takes must pass (among them the bodies the official
// openai client sends, captured from the client itself, and the providers' golden request fixtures), and
// malformed ones are refused 400 with the parameter and the words that say what is wrong.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import OpenAI from 'openai';
import type { Endpoint } from '../providers/types.js';
import { MAX_ITEMS, requestShapeError } from './request-shape.js';

type Body = Record<string, unknown>;

const user = (content: unknown) => ({ role: 'user', content });
const chat = (messages: unknown, extra: Body = {}): Body => ({ model: 'chat', messages, ...extra });
const hello = [user('hello')];

/** What the official client puts on the wire for a call: its fetch captures the body and fails the call. */
async function sent(call: (c: OpenAI) => Promise<unknown>): Promise<Body> {
  let body: Body | undefined;
  const client = new OpenAI({
    apiKey: 'test',
    baseURL: 'http://127.0.0.1:1/v1',
    maxRetries: 0,
    fetch: (_url, init) => {
      if (typeof init?.body !== 'string') throw new Error('the client sent a body that is not JSON text');
      body = JSON.parse(init.body) as Body;
      return Promise.reject(new Error('captured'));
    },
  });
  await call(client).catch(() => undefined);
  if (body === undefined) throw new Error('the client sent no body');
  return body;
}

const toolCall = {
  id: 'call_1',
  type: 'function' as const,
  function: { name: 'get_weather', arguments: '{"city":"Paris"}' },
};
const weatherTool = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

/** Bodies the official client sends, captured in beforeAll. */
const fromClient: Record<string, (c: OpenAI) => Promise<unknown>> = {
  'chat with tools, an assistant tool call (null content) and its tool answer': (c) =>
    c.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'system', content: 'You answer with tools.' },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [toolCall] },
        { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' },
      ],
      tools: [weatherTool],
      tool_choice: 'auto',
      parallel_tool_calls: true,
    }),
  'chat with image_url, input_audio and file parts': (c) =>
    c.chat.completions.create({
      model: 'chat',
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this image?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=', detail: 'low' } },
            { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            { type: 'file', file: { file_id: 'file-1' } },
          ],
        },
      ],
      max_tokens: 50,
    }),
  'chat with the developer role, json_schema and reasoning parameters': (c) =>
    c.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'developer', content: [{ type: 'text', text: 'Answer as JSON.' }] },
        { role: 'user', content: 'Name a colour.' },
      ],
      response_format: {
        type: 'json_schema',
        json_schema: { name: 'colour', schema: { type: 'object', properties: { name: { type: 'string' } } } },
      },
      max_completion_tokens: 200,
      reasoning_effort: 'low',
      seed: 7,
      logit_bias: { '50256': -100 },
      stop: ['\n\n', 'END'],
      metadata: { team: 'a' },
    }),
  'streaming chat with stream_options': (c) =>
    c.chat.completions.create({
      model: 'chat',
      messages: [{ role: 'user', content: 'stream this' }],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0,
      top_p: 1,
      n: 1,
      presence_penalty: -2,
      frequency_penalty: 2,
      user: 'u-1',
    }),
  'chat with the deprecated function call and function role': (c) =>
    c.chat.completions.create({
      model: 'chat',
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, function_call: { name: 'get_weather', arguments: '{}' } },
        { role: 'function', name: 'get_weather', content: null },
      ],
      functions: [{ name: 'get_weather', parameters: { type: 'object' } }],
    }),
  'completions with a string prompt': (c) =>
    c.completions.create({ model: 'chat', prompt: 'Say this is a test', max_tokens: 7, echo: true }),
  'completions with token-id prompts': (c) =>
    c.completions.create({ model: 'chat', prompt: [[1, 2, 3], [4]], logprobs: 2, best_of: 2, n: 2 }),
  'embeddings with the default encoding (base64)': (c) =>
    c.embeddings.create({ model: 'embed', input: ['a', 'b'] }),
  'embeddings of token ids with dimensions': (c) =>
    c.embeddings.create({ model: 'embed', input: [1, 2, 3], dimensions: 256, encoding_format: 'float' }),
};

const endpointOf = (name: string): Endpoint =>
  name.startsWith('completions') ? 'completions' : name.startsWith('embeddings') ? 'embeddings' : 'chat';

const captured: [string, Endpoint, Body][] = [];
beforeAll(async () => {
  for (const [name, call] of Object.entries(fromClient))
    captured.push([name, endpointOf(name), await sent(call)]);
});

/** The golden request fixtures of the provider adapters (what they are tested to translate). */
const TESTDATA = path.join(import.meta.dirname, '..', 'providers', 'testdata');
const fixtures: [string, Endpoint, Body][] = readdirSync(TESTDATA).flatMap((provider) =>
  readdirSync(path.join(TESTDATA, provider))
    .filter((f) => /-request\.in\.json$/.test(f))
    .map((f): [string, Endpoint, Body] => [
      `${provider}/${f}`,
      f.split('-')[0] as Endpoint,
      JSON.parse(readFileSync(path.join(TESTDATA, provider, f), 'utf8')) as Body,
    ]),
);

const valid: [string, Endpoint, Body][] = [
  ['one user message', 'chat', chat(hello)],
  ['an empty string as content', 'chat', chat([user('')])],
  [
    'an assistant message as the client returns it (content null beside a refusal)',
    'chat',
    chat([
      user('hi'),
      { role: 'assistant', content: null, refusal: 'I cannot help', annotations: [] },
      user('ok'),
    ]),
  ],
  [
    'assistant content as text and refusal parts',
    'chat',
    chat([
      user('hi'),
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'a' },
          { type: 'refusal', refusal: 'no' },
        ],
      },
    ]),
  ],
  [
    'an assistant with an audio answer',
    'chat',
    chat([user('hi'), { role: 'assistant', audio: { id: 'a1' } }]),
  ],
  ['a named user', 'chat', chat([{ role: 'user', name: 'ann', content: 'hi' }])],
  [
    'null optional parameters (OpenAI treats them as absent)',
    'chat',
    chat(hello, { temperature: null, stop: null, n: null, max_tokens: null, user: null, tools: null }),
  ],
  [
    'parameters the gateway does not know',
    'chat',
    chat(hello, { verbosity: 'low', web_search_options: {}, prediction: { type: 'content', content: 'x' } }),
  ],
  [
    'a tool choice naming a function',
    'chat',
    chat(hello, { tool_choice: { type: 'function', function: { name: 'f' } } }),
  ],
  ['four stop sequences', 'chat', chat(hello, { stop: ['a', 'b', 'c', 'd'] })],
  [
    'sixty-four stop sequences (vLLM and others take more than OpenAI)',
    'chat',
    chat(hello, { stop: Array.from({ length: 64 }, (_, i) => `s${i}`) }),
  ],
  [
    'the range edges',
    'chat',
    chat(hello, { temperature: 2, top_p: 0, n: 128, presence_penalty: -2, seed: -5 }),
  ],
  [
    'a null prompt (OpenAI completes from the start of a document)',
    'completions',
    { model: 'c', prompt: null },
  ],
  ['prompts as strings', 'completions', { model: 'c', prompt: ['a', 'b'], suffix: 'end' }],
  ['an empty string prompt', 'completions', { model: 'c', prompt: '' }],
  ['one string input', 'embeddings', { model: 'e', input: 'hello', user: 'u' }],
  ['token-id inputs', 'embeddings', { model: 'e', input: [[1, 2], [3]] }],
  [
    'sampling parameters are not embedding parameters',
    'embeddings',
    { model: 'e', input: 'x', temperature: 'hot' },
  ],
];

describe('requestShapeError passes what OpenAI takes', () => {
  test.each(valid)('%s', (_name, endpoint, body) => {
    expect(requestShapeError(endpoint, body)).toBeUndefined();
  });

  test.each(fixtures)('provider fixture %s', (_name, endpoint, body) => {
    expect(requestShapeError(endpoint, body)).toBeUndefined();
  });

  test('every body the official openai client sends', () => {
    expect(captured.map(([name]) => name)).toEqual(Object.keys(fromClient));
    // What was captured is the wire shape: the tool call turn with its null content, base64 embeddings.
    const messages = captured[0]?.[2].messages as unknown[];
    expect(messages[2]).toEqual({ role: 'assistant', content: null, tool_calls: [toolCall] });
    expect(captured.find(([name]) => name.includes('base64'))?.[2].encoding_format).toBe('base64');
    for (const [name, endpoint, body] of captured)
      expect({ name, error: requestShapeError(endpoint, body) }).toEqual({ name, error: undefined });
  });

  test('leaves the body as it was', () => {
    const body = chat([user('hi'), { role: 'assistant', content: null, tool_calls: [toolCall] }], { n: 1 });
    const before = structuredClone(body);
    requestShapeError('chat', body);
    expect(body).toEqual(before);
  });
});

const tooMany = Array.from({ length: MAX_ITEMS + 1 }, () => user('x'));
const assistant = (extra: Body) => ({ role: 'assistant', ...extra });
const prompt = (p: unknown, extra: Body = {}): Body => ({ model: 'c', prompt: p, ...extra });
const input = (i: unknown, extra: Body = {}): Body => ({ model: 'e', input: i, ...extra });
const MISSING = 'missing_required_parameter';
const TYPE = 'invalid_type';

/** [case, endpoint, body, the parameter named, the code]. */
const invalid: [string, Endpoint, Body, string, string][] = [
  ['no messages', 'chat', { model: 'chat' }, 'messages', MISSING],
  ['messages as a string', 'chat', chat('hi'), 'messages', TYPE],
  ['messages as one message object', 'chat', chat(user('hi')), 'messages', TYPE],
  ['messages null', 'chat', chat(null), 'messages', TYPE],
  ['no message at all', 'chat', chat([]), 'messages', 'empty_array'],
  ['too many messages', 'chat', chat(tooMany), 'messages', 'array_above_max_length'],
  ['a message that is a string', 'chat', chat(['hi']), 'messages[0]', TYPE],
  ['a message that is null', 'chat', chat([null]), 'messages[0]', TYPE],
  ['a message without a role', 'chat', chat([{ content: 'hi' }]), 'messages[0].role', MISSING],
  ['an unknown role', 'chat', chat([{ role: 'bot', content: 'hi' }]), 'messages[0].role', 'invalid_value'],
  [
    'a role that is a number',
    'chat',
    chat([{ role: 1, content: 'hi' }]),
    'messages[0].role',
    'invalid_value',
  ],
  ['a user message without content', 'chat', chat([{ role: 'user' }]), 'messages[0].content', MISSING],
  ['content that is a number', 'chat', chat([user(42)]), 'messages[0].content', TYPE],
  ['content that is an object', 'chat', chat([user({ text: 'hi' })]), 'messages[0].content', TYPE],
  ['user content null', 'chat', chat([user(null)]), 'messages[0].content', TYPE],
  ['system content null', 'chat', chat([{ role: 'system', content: null }]), 'messages[0].content', TYPE],
  [
    'a part without a type',
    'chat',
    chat([user([{ type: 'text', text: 'a' }, {}])]),
    'messages[0].content[1]',
    TYPE,
  ],
  ['a part that is a string', 'chat', chat([user(['hi'])]), 'messages[0].content[0]', TYPE],
  ['a text part without text', 'chat', chat([user([{ type: 'text' }])]), 'messages[0].content[0].text', TYPE],
  [
    'an assistant with null content only',
    'chat',
    chat([assistant({ content: null })]),
    'messages[0].content',
    TYPE,
  ],
  ['an assistant without content', 'chat', chat([assistant({})]), 'messages[0].content', MISSING],
  [
    'tool calls not in an array',
    'chat',
    chat([assistant({ tool_calls: toolCall })]),
    'messages[0].tool_calls',
    TYPE,
  ],
  [
    'a tool call that is a string',
    'chat',
    chat([assistant({ tool_calls: ['c'] })]),
    'messages[0].tool_calls[0]',
    TYPE,
  ],
  [
    'a tool message without its call id',
    'chat',
    chat([{ role: 'tool', content: '21' }]),
    'messages[0].tool_call_id',
    MISSING,
  ],
  [
    'a tool call id that is a number',
    'chat',
    chat([{ role: 'tool', tool_call_id: 1 }]),
    'messages[0].tool_call_id',
    TYPE,
  ],
  [
    'a tool message without content',
    'chat',
    chat([{ role: 'tool', tool_call_id: 'c' }]),
    'messages[0].content',
    MISSING,
  ],
  [
    'a function message without a name',
    'chat',
    chat([{ role: 'function', content: 'x' }]),
    'messages[0].name',
    MISSING,
  ],
  [
    'a name that is a number',
    'chat',
    chat([{ role: 'user', name: 7, content: 'x' }]),
    'messages[0].name',
    TYPE,
  ],
  [
    'the first bad message of several',
    'chat',
    chat([user('a'), user('b'), assistant({ content: 5 }), user('c')]),
    'messages[2].content',
    TYPE,
  ],
  ['stream as a string', 'chat', chat(hello, { stream: 'true' }), 'stream', TYPE],
  ['stream_options as a boolean', 'chat', chat(hello, { stream_options: true }), 'stream_options', TYPE],
  ['n of 0', 'chat', chat(hello, { n: 0 }), 'n', 'integer_below_min_value'],
  ['n of 129', 'chat', chat(hello, { n: 129 }), 'n', 'integer_above_max_value'],
  ['n of 1.5', 'chat', chat(hello, { n: 1.5 }), 'n', TYPE],
  ['max_tokens of 0', 'chat', chat(hello, { max_tokens: 0 }), 'max_tokens', 'integer_below_min_value'],
  ['max_tokens as a string', 'chat', chat(hello, { max_tokens: '100' }), 'max_tokens', TYPE],
  [
    'max_completion_tokens of -1',
    'chat',
    chat(hello, { max_completion_tokens: -1 }),
    'max_completion_tokens',
    'integer_below_min_value',
  ],
  ['temperature of 3', 'chat', chat(hello, { temperature: 3 }), 'temperature', 'decimal_above_max_value'],
  ['temperature as a word', 'chat', chat(hello, { temperature: 'hot' }), 'temperature', TYPE],
  ['top_p of 1.5', 'chat', chat(hello, { top_p: 1.5 }), 'top_p', 'decimal_above_max_value'],
  [
    'presence_penalty of -3',
    'chat',
    chat(hello, { presence_penalty: -3 }),
    'presence_penalty',
    'decimal_below_min_value',
  ],
  [
    'frequency_penalty of 2.5',
    'chat',
    chat(hello, { frequency_penalty: 2.5 }),
    'frequency_penalty',
    'decimal_above_max_value',
  ],
  ['a fractional seed', 'chat', chat(hello, { seed: 1.5 }), 'seed', TYPE],
  [
    'sixty-five stop sequences',
    'chat',
    chat(hello, { stop: Array.from({ length: 65 }, (_, i) => `s${i}`) }),
    'stop',
    'array_above_max_length',
  ],
  ['a stop sequence that is a number', 'chat', chat(hello, { stop: ['a', 1] }), 'stop[1]', TYPE],
  ['stop as a number', 'chat', chat(hello, { stop: 5 }), 'stop', TYPE],
  ['user as a number', 'chat', chat(hello, { user: 42 }), 'user', TYPE],
  ['logit_bias as an array', 'chat', chat(hello, { logit_bias: [] }), 'logit_bias', TYPE],
  ['tools as one tool object', 'chat', chat(hello, { tools: weatherTool }), 'tools', TYPE],
  ['a tool without a type', 'chat', chat(hello, { tools: [{ function: { name: 'f' } }] }), 'tools[0]', TYPE],
  [
    'a function tool without a name',
    'chat',
    chat(hello, { tools: [{ type: 'function' }] }),
    'tools[0].function.name',
    MISSING,
  ],
  ['tool_choice as a number', 'chat', chat(hello, { tool_choice: 1 }), 'tool_choice', TYPE],
  ['response_format as a string', 'chat', chat(hello, { response_format: 'json' }), 'response_format', TYPE],
  ['no prompt', 'completions', { model: 'c' }, 'prompt', MISSING],
  ['a prompt that is an object', 'completions', prompt({ text: 'x' }), 'prompt', TYPE],
  ['an empty prompt array', 'completions', prompt([]), 'prompt', 'empty_array'],
  ['strings then a number', 'completions', prompt(['a', 1]), 'prompt[1]', TYPE],
  ['token ids then a string', 'completions', prompt([1, 'a']), 'prompt[1]', TYPE],
  ['a fractional token id', 'completions', prompt([[1, 2.5]]), 'prompt[0][1]', TYPE],
  ['token lists then a string', 'completions', prompt([[1], 'a']), 'prompt[1]', TYPE],
  ['prompts that are objects', 'completions', prompt([{}]), 'prompt[0]', TYPE],
  [
    'a completions temperature of 9',
    'completions',
    prompt('x', { temperature: 9 }),
    'temperature',
    'decimal_above_max_value',
  ],
  ['no input', 'embeddings', { model: 'e' }, 'input', MISSING],
  ['an empty input', 'embeddings', input(''), 'input', 'empty_string'],
  ['an empty input array', 'embeddings', input([]), 'input', 'empty_array'],
  ['a null input', 'embeddings', input(null), 'input', TYPE],
  ['an input that is a number', 'embeddings', input(42), 'input', TYPE],
  ['dimensions of 0', 'embeddings', input('x', { dimensions: 0 }), 'dimensions', 'integer_below_min_value'],
  ['encoding_format as a number', 'embeddings', input('x', { encoding_format: 1 }), 'encoding_format', TYPE],
];

/** What a person reads: [the whole message, the endpoint, the body]. */
const worded: [string, Endpoint, Body][] = [
  ["'messages' must be a non-empty array of message objects", 'chat', { model: 'chat' }],
  [
    "'messages[0].role' is required: one of system, developer, user, assistant, tool or function",
    'chat',
    chat([{ content: 'hi' }]),
  ],
  [
    `'messages[0].role' must be one of system, developer, user, assistant, tool or function; got "bot"`,
    'chat',
    chat([{ role: 'bot', content: 'hi' }]),
  ],
  [
    "'messages[0].content' must be a string or an array of content parts, not a number",
    'chat',
    chat([user(42)]),
  ],
  [
    "'messages[1].content' must be a string or an array of content parts (it may be left out only beside " +
      'tool_calls or function_call), not null',
    'chat',
    chat([user('hi'), assistant({ content: null })]),
  ],
  [
    "'messages[0].tool_call_id' is required: the id of the tool call a tool message answers",
    'chat',
    chat([{ role: 'tool', content: '21' }]),
  ],
  ["'temperature' must be a number from 0 to 2; got 3", 'chat', chat(hello, { temperature: 3 })],
  ["'max_tokens' must be an integer of at least 1; got 0", 'chat', chat(hello, { max_tokens: 0 })],
  [
    "'stop' must be a string or an array of at most 64 strings; got 65",
    'chat',
    chat(hello, { stop: Array.from({ length: 65 }, (_, i) => `s${i}`) }),
  ],
  ["'messages' holds 100001 messages; at most 100000 are accepted", 'chat', chat(tooMany)],
  ["'prompt[1]' must be a token id (an integer)", 'completions', prompt([1, 'a'])],
  ["'input' must not be an empty string", 'embeddings', input('')],
];

describe('requestShapeError refuses malformed requests', () => {
  test.each(invalid)('%s', (_name, endpoint, body, param, code) => {
    const e = requestShapeError(endpoint, body);
    expect(e?.status).toBe(400);
    expect(e?.error).toEqual({ message: expect.any(String), type: 'invalid_request_error', param, code });
    // The message names the parameter as the client wrote it, so a person can find it in their request.
    expect(e?.error.message).toContain(`'${param}'`);
    expect(e?.refusal).toBe('invalid');
  });

  test.each(worded)('says what is wrong in words: %s', (message, endpoint, body) => {
    expect(requestShapeError(endpoint, body)?.error.message).toBe(message);
  });
});
