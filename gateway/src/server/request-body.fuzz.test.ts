// Property tests of the request's way in: bytes → JSON (parseJson, jsonObject) → the edge's shape check
// (requestShapeError) → the prompt text routing reads (promptText). No input makes any of them throw: a
// body is a result or a clean 400, and the prompt is a string. fuzz/corpus/request-body is replayed first.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { bodyBytes, chatRequest, requestBody } from '../../../fuzz/arbitraries.js';
import { corpus, fuzzParams, FUZZ_TIMEOUT_MS } from '../../../fuzz/harness.js';
import type { Endpoint } from '../providers/types.js';
import { promptText } from './attempt-plan.js';
import { jsonObject, parseJson } from './request-body.js';
import { requestShapeError } from './request-shape.js';

const ENDPOINTS: Endpoint[] = ['chat', 'completions', 'embeddings'];

function jsonOf(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

/** How deep a JSON value nests arrays and objects (iteratively: a deep value must not overflow here). */
function depthOf(v: unknown): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[v, 0]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [x, d] = top;
    if (typeof x !== 'object' || x === null) continue;
    deepest = Math.max(deepest, d + 1);
    for (const child of Object.values(x)) stack.push([child, d + 1]);
  }
  return deepest;
}

/** Nesting every body may have: the gateway may refuse deeper ones, never these. */
const SHALLOW = 32;

/** Every property of the way in, on one body's bytes. */
function checkBytes(raw: Buffer): void {
  // parseJson is JSON.parse, or undefined (no JSON, or nesting too deep for the code after it).
  const parsed = parseJson(raw);
  const json = jsonOf(raw);
  if (parsed !== undefined) assert.deepStrictEqual(parsed, json);
  else if (depthOf(json) <= SHALLOW) assert.equal(json, undefined);
  const body = jsonObject(raw);
  if (body === undefined) return;
  assert.ok(typeof body === 'object' && body !== null && !Array.isArray(body));
  checkBody(body);
}

function checkBody(body: Record<string, unknown>): void {
  for (const endpoint of ENDPOINTS) {
    const e = requestShapeError(endpoint, body);
    if (e === undefined) continue;
    assert.equal(e.status, 400);
    assert.equal(typeof e.error.message, 'string');
    assert.equal(typeof e.error.param, 'string');
  }
  assert.equal(typeof promptText(body), 'string');
}

describe('request body (corpus)', () => {
  test.each(corpus('request-body').map((f) => [f.name, f] as const))('%s', (_name, f) => {
    checkBytes(f.bytes);
  });
});

describe('request body (properties)', () => {
  test(
    'any bytes: parseJson is JSON.parse (or refuses a deep body), and nothing downstream throws',
    () => {
      fc.assert(
        fc.property(bodyBytes, (raw) => checkBytes(raw)),
        fuzzParams(250),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'any JSON object body: a shape verdict and a prompt text, never a throw',
    () => {
      fc.assert(
        fc.property(requestBody, (body) => {
          const raw = Buffer.from(JSON.stringify(body));
          assert.deepStrictEqual(jsonObject(raw), body);
          checkBody(body);
        }),
        fuzzParams(250),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "an accepted chat request's prompt text holds every text it carries, in order",
    () => {
      fc.assert(
        fc.property(chatRequest, (body) => {
          assert.equal(requestShapeError('chat', body), undefined);
          const texts = (body.messages as { content: string | { text: string }[] }[]).flatMap((m) =>
            typeof m.content === 'string' ? [m.content] : m.content.map((p) => p.text),
          );
          assert.equal(promptText(body), texts.map((t) => `${t}\n`).join(''));
        }),
        fuzzParams(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('a prompt of items that are not text is read without converting objects', () => {
    // Found by the properties: Array.prototype.join converts each item to a string, and an item whose
    // toString and valueOf are not functions (any JSON object can carry them) throws a TypeError. The
    // edge lets `prompt` through unchecked on /v1/embeddings, where a quality-cost route reads it.
    const body = { model: 'm', input: 'x', prompt: [{ toString: 1 }, 'text', 7, [1, 2]] };
    expect(requestShapeError('embeddings', body)).toBeUndefined();
    expect(promptText(body)).toBe('\ntext\n7\n1,2');
  });
});
