import { assignVariant as operatorAssignVariant } from '../../../operator/src/experiments/allocation.js';
import { ANONYMOUS, type Caller } from '../policy/types.js';
import type { CompiledExperiment } from '../../../api/v1alpha1/index.js';
import { compiledRoute, gatewayConfig } from '../../../testkit/gateway-config.js';
import { compileRuntime, type RuntimeBackend } from '../config/load.js';
import { assign, subjectKey, variantFirst, variantOf } from './request.js';
import { runtimeExperiment, type RuntimeExperiment } from './runtime.js';
import { applyTemplate } from './template.js';

const spec = (weights: number[], promoted?: string): CompiledExperiment => ({
  name: 'tone',
  revision: 'r1',
  subject: 'user',
  variants: weights.map((weight, i) => ({ name: `v${i}`, backend: 'a', weight })),
  ...(promoted !== undefined ? { promoted } : {}),
});

const experimentOf = (e: CompiledExperiment): RuntimeExperiment =>
  runtimeExperiment(compiledRoute('chat', [{ name: 'a', url: 'http://127.0.0.1:1/v1' }], { experiment: e }))
    .experiment as RuntimeExperiment;

const ALICE: Caller = { key: 'alice', anonymous: false };

describe('experiment assignment on the gateway', () => {
  it('assigns exactly as the operator does, on 1,000 keys and three splits', () => {
    for (const weights of [
      [0.5, 0.5],
      [0.8, 0.2],
      [0.1, 0.3, 0.6],
    ]) {
      const e = experimentOf(spec(weights));
      const asWeights = Object.fromEntries(weights.map((w, i) => [`v${i}`, w]));
      for (let i = 0; i < 1000; i++) {
        const key = `user-${i}-${(i * 7919) % 1013}`;
        expect(variantOf(e, key).name).toBe(operatorAssignVariant('tone', key, asWeights));
      }
    }
  });

  it('gives every key the promoted winner', () => {
    const e = experimentOf(spec([0, 1], 'v0'));
    for (let i = 0; i < 100; i++) expect(variantOf(e, `u${i}`).name).toBe('v0');
  });

  it('keys a subject by user header, then body user, then API key, else a fresh random key', () => {
    const random = () => 0.123456;
    expect(subjectKey('user', { 'x-user-id': 'u1' }, { user: 'u2' }, ALICE, random)).toBe('u1');
    expect(subjectKey('user', {}, { user: 'u2' }, ALICE, random)).toBe('u2');
    expect(subjectKey('user', { 'x-user-id': '' }, {}, ALICE, random)).toBe('alice');
    expect(subjectKey('user', {}, {}, ANONYMOUS, random)).toBe((0.123456).toString(36).slice(2));
    expect(subjectKey('api-key', { 'x-user-id': 'u1' }, {}, ALICE, random)).toBe('alice');
    expect(subjectKey('api-key', {}, {}, ANONYMOUS, random)).not.toBe('anonymous');
    expect(subjectKey('request', { 'x-user-id': 'u1' }, {}, ALICE, random)).toBe(
      (0.123456).toString(36).slice(2),
    );
  });
});

describe('the attempt plan of an experiment request', () => {
  const url = 'http://127.0.0.1:1/v1';
  const route = compileRuntime(
    gatewayConfig([
      compiledRoute(
        'chat',
        [
          { name: 'a', url },
          { name: 'b', url },
          { name: 'c', url },
        ],
        {
          experiment: {
            ...spec([0, 1]),
            variants: [
              { name: 'v0', backend: 'a', weight: 0 },
              { name: 'v1', backend: 'c', weight: 1 },
            ],
          },
        },
      ),
    ]),
  ).routes.get('chat');
  if (route === undefined) throw new Error('no route');
  const backend = (n: string): RuntimeBackend => {
    const got = route.backends.get(`${n}/stable`);
    if (got === undefined) throw new Error(`no backend ${n}`);
    return got;
  };
  const [a, b, c] = [backend('a'), backend('b'), backend('c')];
  const arm = () => {
    const got = assign(route, 'chat', {}, { model: 'chat', messages: [] }, ALICE, { random: Math.random });
    if (got === undefined) throw new Error('not assigned');
    return got;
  };

  it('moves the variant backend first and keeps the fallbacks after it', () => {
    const x = arm();
    expect(x.variant.name).toBe('v1');
    const plan = variantFirst(x, route, 'chat', [a, b, c], () => false);
    expect(plan.map((p) => p.spec.name)).toEqual(['c', 'a', 'b']);
    expect(x.leads).toBe(true);
  });

  it('adds the variant backend a plan lacks only when allowed, else measures nothing', () => {
    const allowed = arm();
    expect(variantFirst(allowed, route, 'chat', [a], () => true).map((p) => p.spec.name)).toEqual(['c', 'a']);
    expect(allowed.leads).toBe(true);
    const refused = arm();
    expect(variantFirst(refused, route, 'chat', [a], () => false).map((p) => p.spec.name)).toEqual(['a']);
    expect(refused.leads).toBe(false);
  });
});

describe('request templates', () => {
  const body = {
    model: 'chat',
    messages: [
      { role: 'system', content: 'You are verbose.', name: 'sys' },
      { role: 'user', content: 'hi' },
    ],
    temperature: 1,
    max_tokens: 500,
  };

  it('replaces the first system message, overrides the temperature and caps max_tokens', () => {
    const out = applyTemplate(body, 'chat', { systemPrompt: 'Be terse.', temperature: 0.2, maxTokens: 100 });
    expect(out.messages).toEqual([
      { role: 'system', content: 'Be terse.', name: 'sys' },
      { role: 'user', content: 'hi' },
    ]);
    expect(out.temperature).toBe(0.2);
    expect(out.max_tokens).toBe(100);
    // The client's body is left as it was.
    expect(body.messages[0]?.content).toBe('You are verbose.');
    expect(body.temperature).toBe(1);
  });

  it('inserts the system prompt first when there is none, and caps only above the limit', () => {
    const out = applyTemplate(
      { model: 'chat', messages: [{ role: 'user', content: 'hi' }], max_completion_tokens: 50 },
      'chat',
      { systemPrompt: 'Be terse.', maxTokens: 100 },
    );
    expect(out.messages).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'hi' },
    ]);
    expect(out.max_completion_tokens).toBe(50);
    expect(out.max_tokens).toBeUndefined();
  });

  it('sets max_tokens when the request names no limit, and leaves embeddings alone', () => {
    expect(
      applyTemplate({ model: 'c', prompt: 'x' }, 'completions', { maxTokens: 64, systemPrompt: 'S' }),
    ).toEqual({ model: 'c', prompt: 'x', max_tokens: 64 });
    const emb = { model: 'e', input: 'x' };
    expect(applyTemplate(emb, 'embeddings', { temperature: 0 })).toBe(emb);
    expect(applyTemplate(emb, 'chat', undefined)).toBe(emb);
  });
});
