// Restoring redacted values in the answers the client receives: a whole JSON answer, and the chunk
// payloads of an SSE stream (OpenAI chat or completion chunks), where a placeholder may be split across
// chunks. Pure: text in, text out.
import { StreamRestorer, restore, type RestoreMap } from './redact.js';

const jsonEscaped = (map: RestoreMap): Map<string, string> =>
  new Map([...map].map(([p, v]) => [p, JSON.stringify(v).slice(1, -1)]));

/** A tool call's arguments in an answer's text: a JSON string that holds JSON. */
const ARGUMENTS = /"arguments"\s*:\s*"(?:[^"\\]|\\.)*"/g;

/**
 * A JSON answer with its placeholders replaced. The replacement happens in the JSON text, so each value
 * is written JSON-escaped (a value may hold quotes, backslashes or the newlines of a PEM key), and escaped
 * twice inside a tool call's arguments, which are JSON within a JSON string.
 */
export function restoreJsonText(text: string, map: RestoreMap): string {
  if (map.size === 0 || !text.includes('[')) return text;
  const escaped = jsonEscaped(map);
  // Only a value that JSON escapes (quotes, backslashes, control characters) differs once more escaped.
  const twice = jsonEscaped(escaped);
  const same = [...escaped].every(([p, v]) => twice.get(p) === v);
  const inArguments = same ? text : text.replace(ARGUMENTS, (args) => restore(args, twice));
  return restore(inArguments, escaped);
}

/** A "[" that is not the start of a JSON array of objects. */
const OPENING = /\[(?!\{)/;

type Chunk = { choices?: unknown } & Record<string, unknown>;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Restores a stream of chunk payloads (JSON strings, or "[DONE]"). Each choice has its own restorer over
 * its text deltas (`delta.content` of chat chunks, `text` of completion chunks), and each of its tool calls
 * one over the fragments of its arguments (`delta.tool_calls[].function.arguments`, where a value is
 * written JSON-escaped: the arguments are JSON). What a restorer holds back is emitted with that choice's
 * finishing chunk, or at the latest before "[DONE]" and at the end.
 */
export class SseRestorer {
  private readonly choices = new Map<number, StreamRestorer>();
  /** Per choice, per tool call index. */
  private readonly tools = new Map<number, Map<number, StreamRestorer>>();
  private escaped: RestoreMap | undefined;

  constructor(private readonly map: RestoreMap) {}

  /** The payloads to send for these upstream payloads. */
  push(payloads: readonly string[]): string[] {
    const out: string[] = [];
    for (const p of payloads) {
      if (p === '[DONE]') {
        out.push(...this.end(), p);
        continue;
      }
      out.push(this.chunk(p));
    }
    return out;
  }

  /** What is still held back, as chunks of their own (the stream ends without a finishing chunk). */
  end(): string[] {
    const out: string[] = [];
    const chunk = (index: number, delta: Record<string, unknown>) =>
      JSON.stringify({ object: 'chat.completion.chunk', choices: [{ index, delta }] });
    for (const [index, r] of this.choices) {
      const rest = r.flush();
      if (rest !== '') out.push(chunk(index, { content: rest }));
    }
    for (const index of this.tools.keys()) {
      const calls = this.flushTools(index);
      if (calls.length > 0) out.push(chunk(index, { tool_calls: calls }));
    }
    this.choices.clear();
    return out;
  }

  private chunk(payload: string): string {
    // A restorer changes state only at a "[" that could open a placeholder: a chunk without one (the "[{"
    // of its choices array cannot), while no choice holds a tail back, passes unparsed (most chunks).
    if (!OPENING.test(payload) && !this.holding()) return payload;
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return payload;
    }
    if (!isRecord(parsed) || !Array.isArray((parsed as Chunk).choices)) return payload;
    let changed = false;
    const choices = (parsed.choices as unknown[]).map((c) => {
      const next = this.choice(c);
      changed ||= next !== c;
      return next;
    });
    return changed ? JSON.stringify({ ...parsed, choices }) : payload;
  }

  private choice(c: unknown): unknown {
    if (!isRecord(c)) return c;
    const index = typeof c.index === 'number' ? c.index : 0;
    let r = this.choices.get(index);
    if (r === undefined) {
      r = new StreamRestorer(this.map);
      this.choices.set(index, r);
    }
    const finished = c.finish_reason !== undefined && c.finish_reason !== null;
    const delta = c.delta;
    if (isRecord(delta)) {
      let next = delta;
      if (typeof delta.content === 'string' || finished) {
        const text = typeof delta.content === 'string' ? r.push(delta.content) : '';
        const content = finished ? text + this.flushed(index, r) : text;
        if (content !== delta.content && (content !== '' || typeof delta.content === 'string'))
          next = { ...next, content };
      }
      const calls = this.toolCalls(index, delta.tool_calls, finished);
      if (calls !== delta.tool_calls) next = { ...next, tool_calls: calls };
      return next === delta ? c : { ...c, delta: next };
    }
    if (typeof c.text === 'string' || finished) {
      const text = typeof c.text === 'string' ? r.push(c.text) : '';
      const out = finished ? text + this.flushed(index, r) : text;
      return out === c.text || (out === '' && c.text === undefined) ? c : { ...c, text: out };
    }
    return c;
  }

  /** A chunk's tool-call deltas with their arguments restored; on the finishing chunk, what is held back. */
  private toolCalls(choice: number, calls: unknown, finished: boolean): unknown {
    let changed = false;
    const out = (Array.isArray(calls) ? calls : []).map((call: unknown) => {
      const fn = isRecord(call) ? call.function : undefined;
      if (!isRecord(call) || !isRecord(fn) || typeof fn.arguments !== 'string') return call;
      const args = this.toolRestorer(choice, typeof call.index === 'number' ? call.index : 0).push(
        fn.arguments,
      );
      if (args === fn.arguments) return call;
      changed = true;
      return { ...call, function: { ...fn, arguments: args } };
    });
    if (finished) {
      const rest = this.flushTools(choice);
      if (rest.length > 0) return [...out, ...rest];
    }
    return changed ? out : calls;
  }

  private toolRestorer(choice: number, call: number): StreamRestorer {
    let calls = this.tools.get(choice);
    if (calls === undefined) {
      calls = new Map();
      this.tools.set(choice, calls);
    }
    let r = calls.get(call);
    if (r === undefined) {
      this.escaped ??= jsonEscaped(this.map);
      r = new StreamRestorer(this.escaped);
      calls.set(call, r);
    }
    return r;
  }

  /** The arguments a choice's tool calls hold back, as tool-call deltas; forgets them. */
  private flushTools(choice: number): { index: number; function: { arguments: string } }[] {
    const calls = this.tools.get(choice);
    this.tools.delete(choice);
    const out: { index: number; function: { arguments: string } }[] = [];
    for (const [index, r] of calls ?? []) {
      const rest = r.flush();
      if (rest !== '') out.push({ index, function: { arguments: rest } });
    }
    return out;
  }

  private holding(): boolean {
    for (const r of this.choices.values()) if (r.holding) return true;
    for (const calls of this.tools.values()) for (const r of calls.values()) if (r.holding) return true;
    return false;
  }

  private flushed(index: number, r: StreamRestorer): string {
    this.choices.delete(index);
    return r.flush();
  }
}
