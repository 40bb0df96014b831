// The shape of an OpenAI request, checked at the gateway's edge before admission: a body the API would
// refuse (no messages, a message without a role, a prompt that is an object) is answered 400 here, so it
// costs no upstream call, no budget, no rate-limit token and no retry, even where a lenient upstream would
// have answered it. Required fields, message roles and content, and the type and range of the common
// parameters are checked as OpenAI's API reference states them; where the reference and what clients send
// differ, the check is lenient. Parameters it does not know pass through: providers add new ones all the
// time. Pure and cheap: plain loops over the parsed body; nothing is built unless there is an error to
// describe (bench/gateway/request-shape.ts measures it beside JSON.parse).
import type { Endpoint } from '../providers/types.js';
import { gatewayError, type GatewayError } from './errors.js';

/** Most messages, prompts or inputs one request may hold: bounds the work of checking a body. */
export const MAX_ITEMS = 100_000;
/**
 * Most stop sequences a request may hold. OpenAI's own models take 4, but vLLM, TGI and Anthropic take
 * more, and the upstream is the one to say what it accepts: this only bounds the work.
 */
export const MAX_STOP_SEQUENCES = 64;

type Obj = Record<string, unknown>;
type Check = (key: string, value: unknown) => GatewayError | undefined;

const isObject = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const ROLES = 'system, developer, user, assistant, tool or function';
const MESSAGES = "'messages' must be a non-empty array of message objects";
const CONTENT = 'a string or an array of content parts';

const invalid = (param: string, message: string, code: string): GatewayError =>
  gatewayError(400, message, code, { param, refusal: 'invalid' });

const wrongType = (param: string, expected: string): GatewayError =>
  invalid(param, `'${param}' must be ${expected}`, 'invalid_type');

const missing = (param: string, expected: string): GatewayError =>
  invalid(param, `'${param}' is required: ${expected}`, 'missing_required_parameter');

/** What a client sent, for an error message: a short quote of a string, else its JSON type. */
function shown(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** A number in [min, max] (an integer when `integer`); the error names the range it must be in. */
function numberError(
  param: string,
  v: unknown,
  min: number,
  max: number,
  integer: boolean,
): GatewayError | undefined {
  if (typeof v === 'number' && (!integer || Number.isInteger(v)) && v >= min && v <= max) return undefined;
  const kind = integer ? 'an integer' : 'a number';
  const range =
    max === Infinity
      ? min === -Infinity
        ? kind
        : `${kind} of at least ${min}`
      : `${kind} from ${min} to ${max}`;
  if (typeof v !== 'number' || (integer && !Number.isInteger(v))) return wrongType(param, range);
  const code = `${integer ? 'integer' : 'decimal'}_${v < min ? 'below_min' : 'above_max'}_value`;
  return invalid(param, `'${param}' must be ${range}; got ${v}`, code);
}

// Chat messages.

/** Content parts: objects with a string `type`; a text part's `text` is a string. */
function partsError(parts: unknown[], path: string): GatewayError | undefined {
  if (parts.length > MAX_ITEMS)
    return invalid(path, `'${path}' holds more than ${MAX_ITEMS} parts`, 'array_above_max_length');
  for (let j = 0; j < parts.length; j++) {
    const p = parts[j];
    if (!isObject(p) || typeof p.type !== 'string')
      return wrongType(`${path}[${j}]`, 'a content part: an object with a string "type"');
    if (p.type === 'text' && typeof p.text !== 'string') return wrongType(`${path}[${j}].text`, 'a string');
  }
  return undefined;
}

/** A message's content: a string or parts; null or absent only where `optional`. */
function contentError(m: Obj, i: number, optional: boolean, because: string): GatewayError | undefined {
  const c = m.content;
  if (typeof c === 'string') return undefined;
  if (Array.isArray(c)) return partsError(c, `messages[${i}].content`);
  if (c === undefined || c === null) {
    if (optional) return undefined;
    return c === undefined
      ? missing(`messages[${i}].content`, `${CONTENT}${because}`)
      : wrongType(`messages[${i}].content`, `${CONTENT}${because}, not null`);
  }
  return wrongType(`messages[${i}].content`, `${CONTENT}, not ${shown(c)}`);
}

const present = (v: unknown): boolean => v !== undefined && v !== null;

/**
 * An assistant turn may leave content out when it carries what it said otherwise: tool calls, a function
 * call, an audio answer or a refusal (the official client's own messages, appended to a conversation).
 */
function assistantError(m: Obj, i: number): GatewayError | undefined {
  const calls = m.tool_calls;
  if (present(calls)) {
    if (!Array.isArray(calls)) return wrongType(`messages[${i}].tool_calls`, 'an array of tool calls');
    for (let j = 0; j < calls.length; j++)
      if (!isObject(calls[j])) return wrongType(`messages[${i}].tool_calls[${j}]`, 'a tool call object');
  }
  const said = present(calls) || present(m.function_call) || present(m.audio) || present(m.refusal);
  return contentError(m, i, said, ' (it may be left out only beside tool_calls or function_call)');
}

/** A message's role and what that role requires: content, a tool call's id, a function's name. */
function roleError(m: Obj, i: number): GatewayError | undefined {
  switch (m.role) {
    case 'system':
    case 'developer':
    case 'user':
      return contentError(m, i, false, '');
    case 'assistant':
      return assistantError(m, i);
    case 'tool':
      if (typeof m.tool_call_id !== 'string')
        return present(m.tool_call_id)
          ? wrongType(`messages[${i}].tool_call_id`, 'a string')
          : missing(`messages[${i}].tool_call_id`, 'the id of the tool call a tool message answers');
      return contentError(m, i, false, '');
    case 'function':
      // Deprecated by OpenAI but still accepted: the function's name, and its result (possibly null).
      if (!present(m.name)) return missing(`messages[${i}].name`, 'the name of the function');
      return contentError(m, i, true, '');
    case undefined:
      return missing(`messages[${i}].role`, `one of ${ROLES}`);
    default:
      return invalid(
        `messages[${i}].role`,
        `'messages[${i}].role' must be one of ${ROLES}; got ${shown(m.role)}`,
        'invalid_value',
      );
  }
}

function messageError(m: unknown, i: number): GatewayError | undefined {
  if (!isObject(m))
    return wrongType(`messages[${i}]`, `a message object with a role and content, not ${shown(m)}`);
  const e = roleError(m, i);
  if (e !== undefined) return e;
  return present(m.name) && typeof m.name !== 'string'
    ? wrongType(`messages[${i}].name`, 'a string')
    : undefined;
}

function messagesError(messages: unknown): GatewayError | undefined {
  if (!Array.isArray(messages)) {
    const code = messages === undefined ? 'missing_required_parameter' : 'invalid_type';
    return invalid('messages', MESSAGES, code);
  }
  if (messages.length === 0) return invalid('messages', MESSAGES, 'empty_array');
  if (messages.length > MAX_ITEMS)
    return invalid(
      'messages',
      `'messages' holds ${messages.length} messages; at most ${MAX_ITEMS} are accepted`,
      'array_above_max_length',
    );
  for (let i = 0; i < messages.length; i++) {
    const e = messageError(messages[i], i);
    if (e !== undefined) return e;
  }
  return undefined;
}

// Prompts and embedding inputs: a string, strings, tokens (integers), or token lists.

const TEXTS = 'a string, an array of strings, an array of token ids, or an array of token-id arrays';

function tokensError(tokens: unknown[], path: string): GatewayError | undefined {
  for (let j = 0; j < tokens.length; j++)
    if (!Number.isInteger(tokens[j])) return wrongType(`${path}[${j}]`, 'a token id (an integer)');
  return undefined;
}

/** The array form of a prompt or an input: its first item says which of the three it is. */
function textsError(items: unknown[], param: string): GatewayError | undefined {
  if (items.length === 0)
    return invalid(param, `'${param}' must be ${TEXTS}, not an empty array`, 'empty_array');
  if (items.length > MAX_ITEMS)
    return invalid(param, `'${param}' holds more than ${MAX_ITEMS} items`, 'array_above_max_length');
  const first = items[0];
  if (typeof first === 'number') return tokensError(items, param);
  if (Array.isArray(first)) {
    for (let j = 0; j < items.length; j++) {
      const t = items[j];
      if (!Array.isArray(t))
        return wrongType(`${param}[${j}]`, 'an array of token ids, as the items before it');
      const e = tokensError(t, `${param}[${j}]`);
      if (e !== undefined) return e;
    }
    return undefined;
  }
  for (let j = 0; j < items.length; j++)
    if (typeof items[j] !== 'string')
      return wrongType(
        `${param}[${j}]`,
        typeof first === 'string' ? 'a string, as the items before it' : TEXTS,
      );
  return undefined;
}

/** `prompt` (may be null: OpenAI then completes from the start of a document) or `input` (not empty). */
function inputsError(param: 'prompt' | 'input', v: unknown): GatewayError | undefined {
  if (typeof v === 'string') {
    if (v === '' && param === 'input')
      return invalid(param, `'input' must not be an empty string`, 'empty_string');
    return undefined;
  }
  if (Array.isArray(v)) return textsError(v, param);
  if (v === undefined) return missing(param, TEXTS);
  if (v === null && param === 'prompt') return undefined;
  return wrongType(param, `${TEXTS}, not ${shown(v)}`);
}

// Optional parameters: checked when present and not null (OpenAI treats null as absent).

function stopError(v: unknown): GatewayError | undefined {
  if (typeof v === 'string') return undefined;
  const expected = `a string or an array of at most ${MAX_STOP_SEQUENCES} strings`;
  if (!Array.isArray(v)) return wrongType('stop', expected);
  if (v.length > MAX_STOP_SEQUENCES)
    return invalid('stop', `'stop' must be ${expected}; got ${v.length}`, 'array_above_max_length');
  for (let j = 0; j < v.length; j++) if (typeof v[j] !== 'string') return wrongType(`stop[${j}]`, 'a string');
  return undefined;
}

/** Tools: objects with a string `type`; a function tool names its function. */
function toolsError(v: unknown): GatewayError | undefined {
  if (!Array.isArray(v)) return wrongType('tools', 'an array of tool objects');
  for (let j = 0; j < v.length; j++) {
    const t: unknown = v[j];
    if (!isObject(t) || typeof t.type !== 'string')
      return wrongType(`tools[${j}]`, 'a tool: an object with a string "type"');
    if (t.type === 'function' && !(isObject(t.function) && typeof t.function.name === 'string'))
      return missing(`tools[${j}].function.name`, 'the name of the function a function tool offers');
  }
  return undefined;
}

/** Parameters of chat and completions: sampling, length, streaming, tools. */
const generationParamError: Check = (key, v) => {
  switch (key) {
    case 'stream':
      return typeof v === 'boolean' ? undefined : wrongType(key, 'a boolean');
    case 'stream_options':
    case 'logit_bias':
      return isObject(v) ? undefined : wrongType(key, 'an object');
    case 'response_format':
      return isObject(v) && typeof v.type === 'string'
        ? undefined
        : wrongType(key, 'an object with a string "type" (text, json_object or json_schema)');
    case 'n':
      return numberError(key, v, 1, 128, true);
    case 'max_tokens':
    case 'max_completion_tokens':
      return numberError(key, v, 1, Infinity, true);
    case 'temperature':
      return numberError(key, v, 0, 2, false);
    case 'top_p':
      return numberError(key, v, 0, 1, false);
    case 'presence_penalty':
    case 'frequency_penalty':
      return numberError(key, v, -2, 2, false);
    case 'seed':
      return numberError(key, v, -Infinity, Infinity, true);
    case 'stop':
      return stopError(v);
    case 'user':
      return typeof v === 'string' ? undefined : wrongType(key, 'a string');
    case 'tools':
      return toolsError(v);
    case 'tool_choice':
      return typeof v === 'string' || isObject(v) ? undefined : wrongType(key, 'a string or an object');
    default:
      return undefined;
  }
};

const embeddingParamError: Check = (key, v) => {
  switch (key) {
    case 'user':
    case 'encoding_format':
      return typeof v === 'string' ? undefined : wrongType(key, 'a string');
    case 'dimensions':
      return numberError(key, v, 1, Infinity, true);
    default:
      return undefined;
  }
};

function paramsError(body: Obj, check: Check): GatewayError | undefined {
  for (const key in body) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    const e = check(key, v);
    if (e !== undefined) return e;
  }
  return undefined;
}

/**
 * Why a request body is not a request the endpoint takes (a 400 in OpenAI's error format naming the
 * parameter), or undefined when its shape is fine. `model` is checked before, by the pipeline.
 */
export function requestShapeError(endpoint: Endpoint, body: Obj): GatewayError | undefined {
  switch (endpoint) {
    case 'chat':
      return messagesError(body.messages) ?? paramsError(body, generationParamError);
    case 'completions':
      return inputsError('prompt', body.prompt) ?? paramsError(body, generationParamError);
    case 'embeddings':
      return inputsError('input', body.input) ?? paramsError(body, embeddingParamError);
    default: {
      const never: never = endpoint;
      throw new Error(`unknown endpoint ${String(never)}`);
    }
  }
}
