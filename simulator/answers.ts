// Deterministic content for the simulator: the same prompt always gets the same answer, embedding and
// token counts, so caching and golden tests can compare bytes.
import { createHash } from 'node:crypto';

const WORDS = (
  'the a model answer gateway token stream route backend canary stable latency cost quality cluster ' +
  'request response cache budget limit policy simple clear result value system user data time fast ' +
  'because therefore however also which while when where this that with from into over under'
).split(' ');

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The answer tokens (words, each with its leading space but the first) for a prompt. */
export function answerTokens(prompt: string, maxTokens: number): string[] {
  const d = digest(prompt);
  const n = Math.max(1, Math.min(maxTokens, 8 + ((d[0] ?? 0) % 17)));
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = WORDS[((d[i % d.length] ?? 0) + i * 7) % WORDS.length] as string;
    out.push(i === 0 ? w.charAt(0).toUpperCase() + w.slice(1) : ` ${w}`);
  }
  out[n - 1] = `${out[n - 1]}.`;
  return out;
}

/** The prompt itself as answer tokens of three characters: a bracketed name is split across chunks. */
export function echoTokens(prompt: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < prompt.length; i += 3) out.push(prompt.slice(i, i + 3));
  return out.length > 0 ? out : [''];
}

/** A rough prompt token count: about four characters per token. */
export function countTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

/** FNV-1a over a string's code units. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * A deterministic unit vector for a text that behaves like a (lexical) embedding model's: words and their
 * character trigrams hashed with a sign into the dimensions, so texts that share words lie close together
 * and a router or a semantic cache can be tried against it. A text with no word gets a vector of its digest.
 */
export function embed(text: string, dimensions: number): number[] {
  const v = new Array<number>(dimensions).fill(0);
  const add = (feature: string, weight: number) => {
    const h = fnv(feature);
    v[h % dimensions] = (v[h % dimensions] ?? 0) + (h & 0x80000000 ? -weight : weight);
  };
  const words = text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
  for (const w of words) {
    add(`w:${w}`, 1);
    const padded = ` ${w} `;
    for (let i = 0; i + 3 <= padded.length; i++) add(`t:${padded.slice(i, i + 3)}`, 0.3);
  }
  if (words.length === 0) {
    let block = digest(text);
    for (let i = 0; i < dimensions; i++) {
      if (i > 0 && i % 32 === 0) block = digest(block.toString('hex'));
      v[i] = ((block[i % 32] ?? 0) - 127.5) / 127.5;
    }
  }
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0)) || 1;
  return v.map((x) => Number((x / norm).toFixed(6)));
}

/** A short stable id derived from content. */
export function idFor(prefix: string, text: string): string {
  return `${prefix}-${digest(text).toString('hex').slice(0, 24)}`;
}

/** The prompt text of a chat or completion body. */
export function promptOf(body: Record<string, unknown>): string {
  if (Array.isArray(body.messages)) {
    return body.messages
      .map((m: unknown) => {
        if (typeof m !== 'object' || m === null) return '';
        const c = (m as Record<string, unknown>).content;
        if (typeof c === 'string') return c;
        if (Array.isArray(c))
          return c
            .map((p: unknown) => (p as Record<string, unknown> | null)?.text)
            .filter((t): t is string => typeof t === 'string')
            .join('');
        return '';
      })
      .join('\n');
  }
  const p = body.prompt;
  if (typeof p === 'string') return p;
  if (Array.isArray(p)) return p.map(String).join('\n');
  return typeof body.system === 'string' ? body.system : '';
}
