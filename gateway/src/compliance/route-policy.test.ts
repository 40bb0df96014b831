import type { CompiledBackend } from '../../../api/v1alpha1/index.js';
import { SseRestorer, restoreJsonText } from './answer-restore.js';
import {
  backendAllowed,
  bodyFor,
  cacheAllowed,
  classOf,
  embedderText,
  retainedTtlMs,
  screenRequest,
  type CompiledCompliance,
} from './route-policy.js';

const backend = (name: string, over: Partial<CompiledBackend> = {}): CompiledBackend => ({
  name,
  variant: 'stable',
  provider: 'openai-compatible',
  url: 'https://api.example.com/v1',
  model: 'm',
  pricing: { inputPerMillionTokens: 0, outputPerMillionTokens: 0 },
  weight: 1,
  ...over,
});

const hosted = backend('hosted', { class: 'hosted', provider: 'openai', region: 'eu-west-1' });
const local = backend('local', { class: 'in-cluster', region: 'eu-west-1' });

const policy = (over: Partial<CompiledCompliance> = {}): CompiledCompliance => ({
  pii: { detectors: ['email', 'card'], hosted: 'redact', inCluster: 'allow', restore: true },
  retention: { storePromptsWithPII: false },
  ...over,
});

const chat = (content: string) => ({ model: 'm', messages: [{ role: 'user', content }] });
const EMAIL = 'ann@example.org';

describe('screenRequest', () => {
  test('each class of the plan gets its own body: redacted for hosted, as written in-cluster', () => {
    const body = chat(`mail ${EMAIL}`);
    const s = screenRequest(policy(), 'chat', body, [local, hosted]);
    expect(s.refusal).toBeUndefined();
    expect(s.plan).toEqual([local, hosted]);
    expect(bodyFor(s.pass, local)?.body).toBe(body);
    expect(bodyFor(s.pass, hosted)?.body).toEqual(chat('mail [EMAIL_1]'));
    expect(bodyFor(s.pass, hosted)?.redactions).toBe(1);
    expect(bodyFor(s.pass, hosted)?.restore.get('[EMAIL_1]')).toBe(EMAIL);
    expect(s.piiFound).toBe(true);
    expect(s.detections).toEqual({ redacted: { email: 1 }, blocked: [] });
  });

  test('tool-call arguments share the placeholders of the text; a value with escapes is kept unescaped', () => {
    const pem = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END PRIVATE KEY-----';
    const args = JSON.stringify({ key: pem, to: `line\n${EMAIL}` });
    const body = {
      model: 'm',
      messages: [
        { role: 'user', content: `use ${pem}` },
        {
          role: 'assistant',
          tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: args } }],
        },
      ],
    };
    const c = policy({
      pii: { detectors: ['email', 'secret'], hosted: 'redact', inCluster: 'allow', restore: true },
    });
    const sent = bodyFor(screenRequest(c, 'chat', body, [hosted]).pass, hosted);
    type Sent = { messages: [{ content: string }, { tool_calls: [{ function: { arguments: string } }] }] };
    const [user, assistant] = (sent?.body as Sent).messages;
    expect(user.content).toBe('use [SECRET_1]');
    expect(JSON.parse(assistant.tool_calls[0].function.arguments)).toEqual({
      key: '[SECRET_1]',
      to: 'line\n[EMAIL_1]',
    });
    expect(sent?.restore.get('[SECRET_1]')).toBe(pem);
    expect(sent?.restore.get('[EMAIL_1]')).toBe(EMAIL);
  });

  test('a blocking class is dropped from the plan while another class can serve', () => {
    const c = policy({ pii: { detectors: ['card'], hosted: 'block', inCluster: 'allow', restore: true } });
    const s = screenRequest(c, 'chat', chat('card 4111 1111 1111 1111'), [hosted, local]);
    expect(s.refusal).toBeUndefined();
    expect(s.plan).toEqual([local]);
    expect(s.detections.blocked).toEqual(['card']);
  });

  test('refuses as blocked when every allowed backend blocks, naming the detectors', () => {
    const c = policy({ pii: { detectors: ['card'], hosted: 'block', inCluster: 'block', restore: true } });
    const s = screenRequest(c, 'chat', chat('card 4111 1111 1111 1111'), [hosted, local]);
    expect(s.refusal).toEqual({ kind: 'blocked', detectors: ['card'] });
  });

  test('refuses as not allowed when no backend of the plan is on an allowed provider or region', () => {
    const c = policy({ allowedRegions: ['us-east-1'] });
    expect(screenRequest(c, 'chat', chat('hi'), [hosted, local]).refusal).toEqual({
      kind: 'not-allowed',
      backends: ['hosted', 'local'],
    });
  });

  test('a route with lists and no PII policy sends every body as written and finds nothing', () => {
    const body = chat(`mail ${EMAIL}`);
    const s = screenRequest(
      { allowedProviders: ['openai'], retention: { storePromptsWithPII: false } },
      'chat',
      body,
      [hosted, local],
    );
    expect(s.plan).toEqual([hosted]);
    expect(bodyFor(s.pass, hosted)?.body).toBe(body);
    expect(s.piiFound).toBe(false);
  });

  test('completion prompts and embedding inputs are redacted too; token ids pass', () => {
    const s = screenRequest(policy(), 'completions', { model: 'm', prompt: [`to ${EMAIL}`, 'x', [1, 2]] }, [
      hosted,
    ]);
    expect(bodyFor(s.pass, hosted)?.body).toEqual({ model: 'm', prompt: ['to [EMAIL_1]', 'x', [1, 2]] });
    const e = screenRequest(policy(), 'embeddings', { model: 'm', input: EMAIL }, [hosted]);
    expect(bodyFor(e.pass, hosted)?.body).toEqual({ model: 'm', input: '[EMAIL_1]' });
  });
});

describe('backend checks', () => {
  test('class is compiled, else read from the URL', () => {
    expect(classOf(backend('a', { url: 'http://vllm.ml.svc.cluster.local:8000/v1' }))).toBe('in-cluster');
    expect(classOf(backend('a'))).toBe('hosted');
    expect(classOf(backend('a', { class: 'in-cluster' }))).toBe('in-cluster');
  });

  test('provider and region lists; a backend without a region fails a region list', () => {
    expect(backendAllowed(policy({ allowedProviders: ['openai'] }), hosted)).toBe(true);
    expect(backendAllowed(policy({ allowedProviders: ['openai'] }), local)).toBe(false);
    expect(backendAllowed(policy({ allowedRegions: ['eu-west-1'] }), backend('x'))).toBe(false);
    expect(backendAllowed(policy(), backend('x'))).toBe(true);
  });

  test('retention: PII keeps a request out of the cache unless allowed; the TTL is capped', () => {
    const s = screenRequest(policy(), 'chat', chat(EMAIL), [hosted]);
    expect(cacheAllowed(policy(), s)).toBe(false);
    expect(cacheAllowed(policy({ retention: { storePromptsWithPII: true } }), s)).toBe(true);
    expect(
      retainedTtlMs(policy({ retention: { storePromptsWithPII: false, maxCacheTtlMs: 1000 } }), 60_000),
    ).toBe(1000);
    expect(retainedTtlMs(policy(), 60_000)).toBe(60_000);
  });
});

describe('embeddings servers', () => {
  const text = `write to ${EMAIL}`;
  test('a hosted server gets the text redacted, blocking detectors too; in-cluster and no policy as written', () => {
    const hostedUrl = 'https://api.openai.com/v1';
    expect(embedderText(policy(), hostedUrl, text)).toBe('write to [EMAIL_1]');
    const blocking = policy({
      pii: { detectors: ['email'], hosted: 'block', inCluster: 'allow', restore: true },
    });
    expect(embedderText(blocking, hostedUrl, text)).toBe('write to [EMAIL_1]');
    expect(embedderText(policy(), 'http://tei.models.svc:8080/v1', text)).toBe(text);
    expect(embedderText(undefined, hostedUrl, text)).toBe(text);
    const allowing = policy({
      pii: { detectors: ['email'], hosted: 'allow', inCluster: 'allow', restore: true },
    });
    expect(embedderText(allowing, hostedUrl, text)).toBe(text);
  });
});

describe('answer restoration', () => {
  const map = new Map([
    ['[EMAIL_1]', EMAIL],
    ['[SECRET_1]', '-----BEGIN KEY-----\n"q"\\'],
  ]);

  test('a JSON answer gets JSON-escaped values', () => {
    const text = JSON.stringify({ content: 'a [EMAIL_1] b [SECRET_1] c [EMAIL_9]' });
    expect(JSON.parse(restoreJsonText(text, map))).toEqual({
      content: `a ${EMAIL} b -----BEGIN KEY-----\n"q"\\ c [EMAIL_9]`,
    });
  });

  test("a tool call's arguments in a JSON answer get values escaped for the JSON they hold", () => {
    const args = JSON.stringify({ to: '[EMAIL_1]', key: '[SECRET_1]' });
    const answer = JSON.stringify({
      choices: [{ message: { content: '[SECRET_1]', tool_calls: [{ function: { arguments: args } }] } }],
    });
    type Answer = {
      choices: { message: { content: string; tool_calls: { function: { arguments: string } }[] } }[];
    };
    const message = (JSON.parse(restoreJsonText(answer, map)) as Answer).choices[0]?.message;
    expect(message?.content).toBe(map.get('[SECRET_1]'));
    expect(JSON.parse(message?.tool_calls[0]?.function.arguments ?? '')).toEqual({
      to: EMAIL,
      key: map.get('[SECRET_1]'),
    });
  });

  const toolChunk = (args: string | undefined, finish: string | null = null, call = 0) =>
    JSON.stringify({
      choices: [
        {
          index: 0,
          delta: args === undefined ? {} : { tool_calls: [{ index: call, function: { arguments: args } }] },
          finish_reason: finish,
        },
      ],
    });
  const argumentsOf = (payloads: string[], call = 0) =>
    payloads
      .filter((p) => p !== '[DONE]')
      .flatMap(
        (p) =>
          (
            JSON.parse(p) as {
              choices: { delta: { tool_calls?: { index: number; function: { arguments: string } }[] } }[];
            }
          ).choices[0]?.delta.tool_calls ?? [],
      )
      .filter((c) => c.index === call)
      .map((c) => c.function.arguments)
      .join('');

  test('streamed tool-call arguments are restored JSON-escaped, split at every position', () => {
    const args = JSON.stringify({ to: '[EMAIL_1]', key: '[SECRET_1]', note: '[x' });
    for (let i = 1; i < args.length; i++) {
      const r = new SseRestorer(map);
      const out = [
        ...r.push([
          toolChunk(args.slice(0, i)),
          toolChunk(args.slice(i)),
          toolChunk(undefined, 'tool_calls'),
        ]),
        ...r.push(['[DONE]']),
      ];
      expect(JSON.parse(argumentsOf(out))).toEqual({ to: EMAIL, key: map.get('[SECRET_1]'), note: '[x' });
    }
  });

  test('tool calls are restored independently; a stream cut short still emits what they held back', () => {
    const r = new SseRestorer(map);
    const out = [
      ...r.push([
        toolChunk('"[EMA', null, 0),
        toolChunk('"[EMAIL_1]', null, 1),
        toolChunk('IL_1]"', null, 0),
        toolChunk('[EMAIL_'),
      ]),
    ];
    out.push(...r.end());
    expect(argumentsOf(out, 0)).toBe(`"${EMAIL}"[EMAIL_`);
    expect(argumentsOf(out, 1)).toBe(`"${EMAIL}`);
    const finished = new SseRestorer(map);
    const last = finished.push([toolChunk('a [SECRET_'), toolChunk(undefined, 'tool_calls')]);
    expect(argumentsOf(last)).toBe('a [SECRET_');
    expect(finished.end()).toEqual([]);
  });

  const chunk = (content: string | undefined, finish: string | null = null, index = 0) =>
    JSON.stringify({
      choices: [{ index, delta: content === undefined ? {} : { content }, finish_reason: finish }],
    });
  const text = (payloads: string[]) =>
    payloads
      .filter((p) => p !== '[DONE]')
      .map(
        (p) =>
          (JSON.parse(p) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? '',
      )
      .join('');

  test('a placeholder split across chunks is restored, the held tail emitted with the finishing chunk', () => {
    const r = new SseRestorer(map);
    const out = [
      ...r.push([chunk('mail [EM'), chunk('AIL_'), chunk('1] now ['), chunk(undefined, 'stop')]),
      ...r.push(['[DONE]']),
    ];
    expect(text(out)).toBe(`mail ${EMAIL} now [`);
    expect(out.at(-1)).toBe('[DONE]');
  });

  test('chunks that cannot hold a placeholder pass byte for byte', () => {
    const r = new SseRestorer(map);
    const plain = [chunk('no brackets here'), chunk('json [{"a": 1}]'), chunk(undefined, 'stop')];
    expect(r.push(plain)).toEqual(plain);
  });

  test('a stream cut before its finishing chunk still emits what was held back', () => {
    const r = new SseRestorer(map);
    const out = [...r.push([chunk('a [EMAIL_')]), ...r.end()];
    expect(text(out)).toBe('a [EMAIL_');
  });

  test('choices are restored independently, and completion chunks by their text', () => {
    const r = new SseRestorer(map);
    const out = r.push([chunk('x [EMA', null, 0), chunk('y [EMAIL_1]', null, 1), chunk('IL_1]', 'stop', 0)]);
    const parsed = out.map(
      (p) => JSON.parse(p) as { choices: { index: number; delta: { content: string } }[] },
    );
    expect(parsed.map((p) => [p.choices[0]?.index, p.choices[0]?.delta.content])).toEqual([
      [0, 'x '],
      [1, `y ${EMAIL}`],
      [0, `${EMAIL}`],
    ]);
    const c = new SseRestorer(map);
    const completion = c.push([
      JSON.stringify({ choices: [{ index: 0, text: '[EMAIL_1]', finish_reason: 'stop' }] }),
    ]);
    expect((JSON.parse(completion[0] ?? '{}') as { choices: { text: string }[] }).choices[0]?.text).toBe(
      EMAIL,
    );
  });
});
