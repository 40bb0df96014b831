// A route's compliance policy over real HTTP: the official openai client talks to a gateway in front of
// echoing simulators (each answers with the prompt it received, in three-character chunks), so a test sees
// both what the upstream was sent and what the client got back. Redaction per backend class (also on a
// fallback from an in-cluster backend to a hosted one), restoration of whole and streamed answers, blocking
// without an upstream call, allowed providers and regions (a canary candidate included), and the cache
// retention of prompts with personal data.
import OpenAI from 'openai';
import { HEADERS } from '../../../api/v1alpha1/index.js';
import { startSimulator, type Simulator } from '../../../simulator/simulator.js';
import { compiledRoute, type BackendSketch } from '../../../testkit/gateway-config.js';
import { complianceFixture } from '../../../testkit/policy-fixtures.js';
import { metricSum, startPolicyGateway, type PolicyGateway } from '../../../testkit/policy-http.js';

const EMAIL = 'jane.doe@example.com';
const PHONE = '+44 20 7946 0958';
const CARD = '4111 1111 1111 1111';
const PROMPT = `Please write to ${EMAIL} or call ${PHONE} about the delivery.`;

let hosted: Simulator;
let local: Simulator;
let failing: Simulator;
let other: Simulator;
let gw: PolicyGateway;
let client: OpenAI;

const pii = complianceFixture;

beforeAll(async () => {
  hosted = await startSimulator({ echo: true });
  local = await startSimulator({ echo: true });
  failing = await startSimulator({ echo: true, faults: { errorRate: 1, errorStatus: 500 } });
  other = await startSimulator({ echo: true });
  const h = (name = 'hosted', extra: Partial<BackendSketch> = {}): BackendSketch => ({
    name,
    url: `${hosted.url}/v1`,
    class: 'hosted',
    ...extra,
  });
  const exact = {
    mode: 'exact' as const,
    ttlMs: 60_000,
    scope: 'route' as const,
    cacheNonDeterministic: false,
  };
  const routes = [
    compiledRoute('redact', [h()], { compliance: pii() }),
    compiledRoute('keep-placeholders', [h()], { compliance: pii({ restore: false }) }),
    compiledRoute('block', [h()], { compliance: pii({ hosted: 'block', detectors: ['card'] }) }),
    compiledRoute('in-cluster', [{ name: 'vllm', url: `${local.url}/v1`, class: 'in-cluster' }], {
      compliance: pii(),
    }),
    compiledRoute(
      'fallback',
      [
        { name: 'vllm', url: `${failing.url}/v1`, class: 'in-cluster', weight: 1 },
        h('hosted', { weight: 0 }),
      ],
      { compliance: pii() },
    ),
    compiledRoute('plain', [h()]),
    compiledRoute(
      'eu-only',
      [
        { name: 'us', url: `${other.url}/v1`, region: 'us-east-1', weight: 1 },
        h('eu', { region: 'eu-west-1', weight: 0 }),
      ],
      { compliance: { allowedRegions: ['eu-west-1'], retention: { storePromptsWithPII: false } } },
    ),
    compiledRoute(
      'nowhere',
      [{ name: 'us', url: `${other.url}/v1`, provider: 'openai', region: 'us-east-1' }],
      {
        compliance: { allowedProviders: ['openai-compatible'], retention: { storePromptsWithPII: false } },
      },
    ),
    // A canary candidate (from a Canary's status, never seen by the route's CEL rules) on another provider.
    compiledRoute(
      'canaried',
      [h('primary'), { name: 'primary', variant: 'canary', url: `${other.url}/v1`, provider: 'openai' }],
      {
        canary: { backend: 'primary', weight: 100, revision: 'r2' },
        compliance: { allowedProviders: ['openai-compatible'], retention: { storePromptsWithPII: false } },
      },
    ),
    compiledRoute('cached', [h()], { cache: exact, compliance: pii() }),
    compiledRoute('cached-pii-ok', [h()], {
      cache: exact,
      compliance: { ...pii(), retention: { storePromptsWithPII: true, maxCacheTtlMs: 30_000 } },
    }),
  ];
  gw = await startPolicyGateway({ routes });
  client = gw.client('unused');
});

afterAll(async () => {
  await gw?.close();
  await Promise.all([hosted, local, failing, other].map((s) => s?.close()));
});

/** The text of the last user message the simulator received. */
function received(sim: Simulator): string {
  const body = sim.stats().last?.body as { messages?: { content?: unknown }[] } | undefined;
  const content = body?.messages?.at(-1)?.content;
  if (typeof content !== 'string') throw new Error('the simulator received no chat message');
  return content;
}

const ask = (model: string, content = PROMPT) =>
  client.chat.completions
    .create({ model, messages: [{ role: 'user', content }], temperature: 0 })
    .withResponse();

describe('redaction for hosted backends', () => {
  test('the hosted backend receives placeholders and the client the restored answer', async () => {
    const { data, response } = await ask('redact');
    const sent = received(hosted);
    expect(sent).toBe('Please write to [EMAIL_1] or call [PHONE_1] about the delivery.');
    expect(sent).not.toContain(EMAIL);
    expect(data.choices[0]?.message.content).toBe(PROMPT);
    expect(response.headers.get(HEADERS.redactions)).toBe('2');
    expect(
      await metricSum(gw.gw, 'beastmode_pii_detections_total', {
        route: 'redact',
        detector: 'email',
        action: 'redact',
      }),
    ).toBe(1);
  });

  test('a streamed answer is restored even when placeholders are split across chunks', async () => {
    const stream = await client.chat.completions.create({
      model: 'redact',
      messages: [{ role: 'user', content: `${PROMPT} Again: ${EMAIL}.` }],
      temperature: 0,
      stream: true,
    });
    let text = '';
    let chunks = 0;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? '';
      chunks++;
    }
    expect(received(hosted)).toBe(
      'Please write to [EMAIL_1] or call [PHONE_1] about the delivery. Again: [EMAIL_1].',
    );
    expect(chunks).toBeGreaterThan(10);
    expect(text).toBe(`${PROMPT} Again: ${EMAIL}.`);
  });

  test('without restore the client sees the placeholders the backend answered with', async () => {
    const { data } = await ask('keep-placeholders');
    expect(data.choices[0]?.message.content).toBe(
      'Please write to [EMAIL_1] or call [PHONE_1] about the delivery.',
    );
  });

  test('a request without personal data is sent as written and carries no redaction header', async () => {
    const { data, response } = await ask('redact', 'What is the capital of France?');
    expect(received(hosted)).toBe('What is the capital of France?');
    expect(data.choices[0]?.message.content).toBe('What is the capital of France?');
    expect(response.headers.get(HEADERS.redactions)).toBeNull();
  });

  test('a route without a policy sends the prompt untouched', async () => {
    await ask('plain');
    expect(received(hosted)).toBe(PROMPT);
  });
});

describe('blocking', () => {
  test('400 pii_blocked names the detector, never the value, and calls no upstream', async () => {
    const before = hosted.stats().requests;
    const err = (await ask('block', `My card is ${CARD}.`).catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.BadRequestError
    >;
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect(err.status).toBe(400);
    expect(err.code).toBe('pii_blocked');
    expect(err.message).toContain('card');
    expect(err.message).not.toContain('4111');
    expect(hosted.stats().requests).toBe(before);
    expect(
      await metricSum(gw.gw, 'beastmode_compliance_refusals_total', {
        route: 'block',
        reason: 'pii-blocked',
      }),
    ).toBe(1);
  });

  test('a detector the route does not list passes through', async () => {
    const { data } = await ask('block', PROMPT);
    expect(received(hosted)).toBe(PROMPT);
    expect(data.choices[0]?.message.content).toBe(PROMPT);
  });
});

describe('backend classes', () => {
  test('an in-cluster backend receives the prompt as written', async () => {
    const { response } = await ask('in-cluster');
    expect(received(local)).toBe(PROMPT);
    expect(response.headers.get(HEADERS.redactions)).toBeNull();
  });

  test('a fallback from an in-cluster backend to a hosted one redacts for the hosted one', async () => {
    const failedBefore = failing.stats().requests;
    const { data, response } = await ask('fallback');
    expect(failing.stats().requests).toBeGreaterThan(failedBefore);
    expect((failing.stats().last?.body as { messages: { content: string }[] }).messages[0]?.content).toBe(
      PROMPT,
    );
    expect(received(hosted)).toBe('Please write to [EMAIL_1] or call [PHONE_1] about the delivery.');
    expect(response.headers.get(HEADERS.backend)).toBe('hosted');
    expect(response.headers.get(HEADERS.redactions)).toBe('2');
    expect(data.choices[0]?.message.content).toBe(PROMPT);
  });
});

describe('allowed providers and regions', () => {
  test('a backend outside the allowed regions is skipped', async () => {
    const before = other.stats().requests;
    for (let i = 0; i < 3; i++) {
      const { response } = await ask('eu-only', 'hello');
      expect(response.headers.get(HEADERS.backend)).toBe('eu');
    }
    expect(other.stats().requests).toBe(before);
  });

  test('403 compliance_refused when no backend is allowed, without an upstream call', async () => {
    const before = other.stats().requests;
    const err = (await ask('nowhere', 'hello').catch((e: unknown) => e)) as InstanceType<
      typeof OpenAI.PermissionDeniedError
    >;
    expect(err).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(err.code).toBe('compliance_refused');
    expect(other.stats().requests).toBe(before);
  });

  test('a canary candidate on a provider the route does not allow is never called', async () => {
    const before = other.stats().requests;
    for (let i = 0; i < 3; i++) {
      const { response } = await ask('canaried', `hello ${i}`);
      expect(response.headers.get(HEADERS.variant)).toBe('stable');
    }
    expect(other.stats().requests).toBe(before);
  });
});

describe('retention', () => {
  test('a request with personal data is not cached; one without is', async () => {
    const before = hosted.stats().requests;
    const first = await ask('cached');
    const second = await ask('cached');
    expect(first.response.headers.get(HEADERS.cache)).toBeNull();
    expect(second.response.headers.get(HEADERS.cache)).toBeNull();
    expect(hosted.stats().requests).toBe(before + 2);
    await ask('cached', 'A question with nothing personal in it.');
    const hit = await ask('cached', 'A question with nothing personal in it.');
    expect(hit.response.headers.get(HEADERS.cache)).toBe('hit');
    expect(hosted.stats().requests).toBe(before + 3);
  });

  test('storePromptsWithPII caches the restored answer', async () => {
    const miss = await ask('cached-pii-ok');
    const hit = await ask('cached-pii-ok');
    expect(miss.response.headers.get(HEADERS.cache)).toBe('miss');
    expect(hit.response.headers.get(HEADERS.cache)).toBe('hit');
    expect(hit.data.choices[0]?.message.content).toBe(PROMPT);
  });
});
