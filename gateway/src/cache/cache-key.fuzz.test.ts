// Property tests of the cache keys: the exact key (cache-key.ts) and the semantic query (semantic-key.ts) of
// any JSON object body never throw, do not depend on the order of a body's keys, and tell two bodies apart
// exactly when their canonical forms differ (an unknown field can cause a miss, never a wrong hit).
// fuzz/corpus/request-body is replayed first.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anyJson, chatRequest, jsonKey, reparse, requestBody } from '../../../fuzz/arbitraries.js';
import { corpus, fuzzParams, FUZZ_TIMEOUT_MS } from '../../../fuzz/harness.js';
import { compileRoute, ModelRoute, type CompiledRoute } from '../../../api/v1alpha1/index.js';
import type { Caller } from '../policy/types.js';
import { jsonObject } from '../server/request-body.js';
import { bypassReason, cacheKey, canonicalRequest, DELIVERY_FIELDS, isDeterministic } from './cache-key.js';
import { semanticQuery } from './semantic/semantic-key.js';

const route = (scope: string): CompiledRoute =>
  compileRoute(
    ModelRoute.parse({
      apiVersion: 'beastmode.dev/v1alpha1',
      kind: 'ModelRoute',
      metadata: { name: 'chat', namespace: 'llm' },
      spec: {
        gatewayRef: { name: 'gw' },
        model: 'chat',
        backends: [{ name: 'a', url: 'http://a.example/v1' }],
        cache: { mode: 'semantic', scope },
      },
    }),
  );
const ROUTE = route('api-key');
const ALICE: Caller = { key: 'alice', team: 'blue', anonymous: false };

const HEX64 = /^[0-9a-f]{64}$/;

/** The canonical form written independently: entries sorted, every key kept as data. */
function reference(body: Record<string, unknown>): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? ['a', v.map(canon)]
      : typeof v === 'object' && v !== null
        ? [
            'o',
            Object.keys(v)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          ]
        : ['v', v];
  const kept = Object.keys(body)
    .filter((k) => !DELIVERY_FIELDS.has(k) && body[k] !== null && body[k] !== undefined)
    .sort();
  return JSON.stringify(kept.map((k) => [k, canon(body[k])]));
}

/** The body with every object's keys in another order (own properties, as JSON.parse makes them). */
function reorder(v: unknown, rotate: number): unknown {
  if (Array.isArray(v)) return v.map((x) => reorder(x, rotate));
  if (typeof v !== 'object' || v === null) return v;
  const keys = Object.keys(v);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < keys.length; i++) {
    const k = keys[(i + rotate) % keys.length] as string;
    const value = reorder((v as Record<string, unknown>)[k], rotate + 1);
    Object.defineProperty(out, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return out;
}

/** The body with `value` put under `key` in the object (or appended to the array) that `steps` lead to. */
function edit(body: Record<string, unknown>, steps: number[], key: string, value: unknown) {
  const copy = reparse(body) as Record<string, unknown>;
  let at: unknown = copy;
  for (const step of steps) {
    const children = Object.values(at as object).filter((c) => typeof c === 'object' && c !== null);
    if (children.length === 0) break;
    at = children[step % children.length];
  }
  if (Array.isArray(at)) at.push(value);
  else Object.defineProperty(at, key, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function checkBody(body: Record<string, unknown>): void {
  const key = cacheKey(ROUTE, ALICE, body);
  assert.match(key, HEX64);
  assert.equal(cacheKey(ROUTE, ALICE, body), key);
  assert.equal(typeof canonicalRequest(body), 'string');
  assert.equal(typeof isDeterministic(body), 'boolean');
  const why = bypassReason(ROUTE, body);
  assert.ok(why === undefined || typeof why === 'string');
  const q = semanticQuery(ROUTE, ALICE, body);
  if (q !== undefined) {
    assert.match(q.partition, HEX64);
    assert.notEqual(q.text.trim(), '');
  }
}

/** The body without one of its keys, at any depth: every such variant, up to `max`. */
function withoutEachKey(body: Record<string, unknown>, max = 64): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const visit = (v: unknown, path: string[]): void => {
    if (typeof v !== 'object' || v === null || out.length >= max) return;
    for (const k of Object.keys(v)) {
      if (!Array.isArray(v)) {
        const copy = reparse(body) as Record<string, unknown>;
        let at = copy;
        for (const p of path) at = at[p] as Record<string, unknown>;
        delete at[k];
        out.push(copy);
      }
      visit((v as Record<string, unknown>)[k], [...path, k]);
    }
  };
  visit(body, []);
  return out;
}

describe('cache keys (corpus)', () => {
  test.each(corpus('request-body').map((f) => [f.name, f] as const))('%s', (_name, f) => {
    const body = jsonObject(f.bytes);
    if (body === undefined) return;
    checkBody(body);
    // A key left out changes the cache key exactly when it changes the canonical form.
    for (const other of withoutEachKey(body))
      assert.equal(
        cacheKey(ROUTE, ALICE, other) === cacheKey(ROUTE, ALICE, body),
        reference(other) === reference(body),
      );
  });
});

describe('cache keys (properties)', () => {
  test(
    'any JSON object body has a key and maybe a semantic query, and neither throws',
    () => {
      fc.assert(
        fc.property(requestBody, (body) => checkBody(body)),
        fuzzParams(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    "the keys do not depend on the order of a body's keys",
    () => {
      fc.assert(
        fc.property(requestBody, fc.nat(7), (body, rotate) => {
          const other = reorder(body, rotate) as Record<string, unknown>;
          assert.equal(cacheKey(ROUTE, ALICE, other), cacheKey(ROUTE, ALICE, body));
          assert.deepStrictEqual(semanticQuery(ROUTE, ALICE, other), semanticQuery(ROUTE, ALICE, body));
        }),
        fuzzParams(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'two bodies share a key exactly when their canonical forms are equal',
    () => {
      fc.assert(
        fc.property(
          requestBody,
          fc.array(fc.nat(), { maxLength: 4 }),
          jsonKey,
          anyJson,
          (body, steps, key, value) => {
            const other = edit(body, steps, key, value);
            const same = reference(other) === reference(body);
            assert.equal(cacheKey(ROUTE, ALICE, other) === cacheKey(ROUTE, ALICE, body), same);
          },
        ),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'callers share entries exactly as the scope says',
    () => {
      const caller = fc.record({
        key: fc.constantFrom('alice', 'bob'),
        team: fc.option(fc.constantFrom('blue', 'red'), { nil: undefined }),
        anonymous: fc.constant(false),
      });
      const scopeOf = (scope: string, c: Caller) =>
        scope === 'route' ? '*' : scope === 'team' && c.team !== undefined ? `t:${c.team}` : `k:${c.key}`;
      fc.assert(
        fc.property(
          fc.constantFrom('route', 'team', 'api-key'),
          caller,
          caller,
          chatRequest,
          (scope, a, b, body) => {
            const r = route(scope);
            const same = scopeOf(scope, a) === scopeOf(scope, b);
            assert.equal(cacheKey(r, a, body) === cacheKey(r, b, body), same);
            const [qa, qb] = [semanticQuery(r, a, body), semanticQuery(r, b, body)];
            assert.equal(qa?.partition === qb?.partition, same || qa === undefined);
          },
        ),
        fuzzParams(100),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'the semantic query compares the last user turn and partitions on everything else',
    () => {
      fc.assert(
        fc.property(
          chatRequest,
          fc.string({ minLength: 1, maxLength: 24 }),
          fc.string({ minLength: 1, maxLength: 24 }),
          (body, first, second) => {
            const ask = (text: string) =>
              reparse({
                ...body,
                messages: [...(body.messages as unknown[]), { role: 'user', content: text }],
              });
            const a = semanticQuery(ROUTE, ALICE, ask(`q ${first}`) as Record<string, unknown>);
            const b = semanticQuery(ROUTE, ALICE, ask(`q ${second}`) as Record<string, unknown>);
            assert.equal(a?.text, `q ${first}`);
            assert.equal(b?.text, `q ${second}`);
            assert.equal(a?.partition, b?.partition);
            const other = semanticQuery(ROUTE, ALICE, { ...(ask(`q ${first}`) as object), seed: 1 });
            assert.notEqual(other?.partition, a?.partition);
          },
        ),
        fuzzParams(200),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test(
    'the canonical form is the one entries were stored under: JSON of a copy with sorted keys',
    () => {
      // The form as it was first written (and as entries in a shared Redis were keyed): a copy of the body
      // built key by key in sorted order, then JSON.stringify. Array-index keys come first in that copy.
      const sorted = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(sorted);
        if (typeof v !== 'object' || v === null) return v;
        const out = Object.create(null) as Record<string, unknown>;
        for (const k of Object.keys(v).sort()) out[k] = sorted((v as Record<string, unknown>)[k]);
        return out;
      };
      const stored = (body: Record<string, unknown>): string => {
        const kept = Object.create(null) as Record<string, unknown>;
        for (const [k, v] of Object.entries(body))
          if (!DELIVERY_FIELDS.has(k) && v !== null && v !== undefined) kept[k] = v;
        return JSON.stringify(sorted(kept));
      };
      const numeric = reparse({
        '10': 1,
        '9': [{ b: 1, '2': 2, a: [3, { '01': 0, '1': 1, '4294967295': 2, '4294967294': 3 }] }],
        model: 'chat',
        b: null,
        stream: true,
      }) as Record<string, unknown>;
      expect(canonicalRequest(numeric)).toBe(stored(numeric));
      expect(canonicalRequest(numeric)).toBe(
        '{"9":[{"2":2,"a":[3,{"1":1,"4294967294":3,"01":0,"4294967295":2}],"b":1}],"10":1,"model":"chat"}',
      );
      // Objects of many keys take another sort than objects of a few.
      const wide = reparse({
        model: 'chat',
        tools: [
          Object.fromEntries(Array.from({ length: 40 }, (_, i) => [i % 3 ? `k${(i * 7) % 40}` : `${i}`, i])),
        ],
        seed: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`s${(i * 5) % 17}`, i])),
      }) as Record<string, unknown>;
      expect(canonicalRequest(wide)).toBe(stored(wide));
      fc.assert(
        fc.property(requestBody, fc.nat(7), (body, rotate) => {
          const other = reorder(body, rotate) as Record<string, unknown>;
          assert.equal(canonicalRequest(body), stored(body));
          assert.equal(canonicalRequest(other), stored(body));
        }),
        fuzzParams(300),
      );
    },
    FUZZ_TIMEOUT_MS,
  );

  test('a key named __proto__ is part of the key like any other', () => {
    // Found by the properties: the canonical form was built by assignment, and `o.__proto__ = v` sets the
    // prototype instead of a key, so a JSON schema with a property named __proto__ shared its key with one
    // without it (a wrong hit).
    const schema = (properties: string) =>
      jsonObject(
        Buffer.from(
          `{"model":"chat","messages":[{"role":"user","content":"x"}],"temperature":0,` +
            `"response_format":{"type":"json_schema","json_schema":{"name":"s","schema":{"type":"object","properties":${properties}}}}}`,
        ),
      ) as Record<string, unknown>;
    const withProto = schema('{"__proto__":{"type":"string"}}');
    expect(cacheKey(ROUTE, ALICE, withProto)).not.toBe(cacheKey(ROUTE, ALICE, schema('{}')));
    expect(canonicalRequest(withProto)).toContain('"__proto__":{"type":"string"}');
    const top = jsonObject(Buffer.from('{"model":"chat","__proto__":{"seed":1}}')) as Record<string, unknown>;
    expect(canonicalRequest(top)).toBe('{"__proto__":{"seed":1},"model":"chat"}');
  });
});
