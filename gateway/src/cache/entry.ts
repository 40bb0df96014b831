// What the cache stores — a complete JSON response body, or the exact SSE frames of a streamed
// response — and the conversions between the two, so one entry answers both stream modes: a streamed
// entry replayed to a streaming client is byte-identical to the original; a non-streaming client gets a
// chat.completion rebuilt from its chunks; a streaming client of a body entry gets chunks built from it.
import { frameData } from '../accounting/sse.js';

export type CacheEntry = { kind: 'body'; body: string } | { kind: 'stream'; events: string[] };

/**
 * How the in-memory store keeps an entry: the UTF-8 bytes a hit writes, encoded once when stored rather
 * than on every hit. A stream keeps its frames concatenated, with the byte offset where each one ends.
 */
export type EncodedEntry =
  { kind: 'body-bytes'; bytes: Buffer } | { kind: 'stream-bytes'; bytes: Buffer; ends: readonly number[] };

/** What a store returns: the text form (Redis) or the encoded one (memory). */
export type StoredEntry = CacheEntry | EncodedEntry;

export function entryBytes(e: CacheEntry): number {
  if (e.kind === 'body') return Buffer.byteLength(e.body);
  let n = 0;
  for (const ev of e.events) n += Buffer.byteLength(ev);
  return n;
}

/** The bytes of `text` in a buffer of their own (not a slice of Node's shared pool, which it would pin). */
function ownBytes(text: string): Buffer {
  const b = Buffer.allocUnsafeSlow(Buffer.byteLength(text));
  b.write(text, 'utf8');
  return b;
}

export function encodeUtf8(e: CacheEntry): EncodedEntry {
  if (e.kind === 'body') return { kind: 'body-bytes', bytes: ownBytes(e.body) };
  const ends: number[] = [];
  let n = 0;
  for (const ev of e.events) ends.push((n += Buffer.byteLength(ev)));
  return { kind: 'stream-bytes', bytes: ownBytes(e.events.join('')), ends };
}

/** The SSE frames of an encoded stream, as text. */
export function encodedEvents(e: { bytes: Buffer; ends: readonly number[] }): string[] {
  let start = 0;
  return e.ends.map((end) => e.bytes.toString('utf8', start, (start = end)));
}

interface ChoiceAcc {
  index: number;
  role: string;
  content: string | null;
  refusal: string | null;
  toolCalls: { id?: string; type?: string; function: { name: string; arguments: string } }[];
  finishReason: unknown;
}

type Json = Record<string, unknown>;

function accumulate(acc: Map<number, ChoiceAcc>, choice: Json): void {
  const index = typeof choice.index === 'number' ? choice.index : 0;
  const a = acc.get(index) ?? {
    index,
    role: 'assistant',
    content: null,
    refusal: null,
    toolCalls: [],
    finishReason: null,
  };
  acc.set(index, a);
  const delta = (choice.delta ?? {}) as Json;
  if (typeof delta.role === 'string') a.role = delta.role;
  if (typeof delta.content === 'string') a.content = (a.content ?? '') + delta.content;
  if (typeof delta.refusal === 'string') a.refusal = (a.refusal ?? '') + delta.refusal;
  for (const tc of Array.isArray(delta.tool_calls) ? (delta.tool_calls as Json[]) : []) {
    const i = typeof tc.index === 'number' ? tc.index : a.toolCalls.length;
    const call = (a.toolCalls[i] ??= { function: { name: '', arguments: '' } });
    if (typeof tc.id === 'string') call.id = tc.id;
    if (typeof tc.type === 'string') call.type = tc.type;
    const fn = (tc.function ?? {}) as Json;
    if (typeof fn.name === 'string') call.function.name += fn.name;
    if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
  }
  if (choice.finish_reason !== undefined && choice.finish_reason !== null)
    a.finishReason = choice.finish_reason;
}

/** A chat.completion body rebuilt from the chunks of a streamed response. */
export function bodyFromEvents(events: readonly string[]): string {
  let head: Json = {};
  let usage: unknown;
  const choices = new Map<number, ChoiceAcc>();
  for (const ev of events) {
    const data = frameData(ev);
    if (data === undefined || data === '[DONE]') continue;
    let chunk: Json;
    try {
      chunk = JSON.parse(data) as Json;
    } catch {
      continue;
    }
    if (head.id === undefined) head = chunk;
    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage;
    for (const c of Array.isArray(chunk.choices) ? (chunk.choices as Json[]) : []) accumulate(choices, c);
  }
  const body: Json = {
    id: head.id,
    object: 'chat.completion',
    created: head.created,
    model: head.model,
    choices: [...choices.values()]
      .sort((x, y) => x.index - y.index)
      .map((c) => ({
        index: c.index,
        message: {
          role: c.role,
          content: c.content,
          refusal: c.refusal,
          ...(c.toolCalls.length > 0 ? { tool_calls: c.toolCalls } : {}),
        },
        logprobs: null,
        finish_reason: c.finishReason,
      })),
    ...(usage !== undefined ? { usage } : {}),
    ...(head.system_fingerprint !== undefined ? { system_fingerprint: head.system_fingerprint } : {}),
  };
  return JSON.stringify(body);
}

const frame = (obj: unknown): string => `data: ${JSON.stringify(obj)}\n\n`;

/** SSE frames (chat.completion.chunk) built from a chat.completion body, ending with [DONE]. */
export function eventsFromBody(bodyText: string): string[] {
  const body = JSON.parse(bodyText) as Json;
  const base = { id: body.id, object: 'chat.completion.chunk', created: body.created, model: body.model };
  const events: string[] = [];
  for (const c of Array.isArray(body.choices) ? (body.choices as Json[]) : []) {
    const message = (c.message ?? {}) as Json;
    const toolCalls = Array.isArray(message.tool_calls)
      ? (message.tool_calls as Json[]).map((tc, index) => ({ index, ...tc }))
      : undefined;
    const delta = {
      role: message.role ?? 'assistant',
      content: message.content ?? null,
      ...(toolCalls ? { tool_calls: toolCalls } : {}),
    };
    events.push(
      frame({ ...base, choices: [{ index: c.index ?? 0, delta, logprobs: null, finish_reason: null }] }),
    );
    events.push(
      frame({
        ...base,
        choices: [
          { index: c.index ?? 0, delta: {}, logprobs: null, finish_reason: c.finish_reason ?? 'stop' },
        ],
      }),
    );
  }
  if (body.usage !== undefined) events.push(frame({ ...base, choices: [], usage: body.usage }));
  events.push('data: [DONE]\n\n');
  return events;
}
